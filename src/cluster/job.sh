#!/bin/bash
# wmgeom: stage @DECL@ of @PIPELINE@ (@WHAT@)
# (the template is src/cluster/job.sh, filled by cluster/slurm.cpp: job_script)
set -u
@SETUP@
instances=(@INSTANCES@ )
dirs=(@DIRS@ )
keys=(@KEYS@ )
task=${SLURM_ARRAY_TASK_ID:-0}
inst=${instances[$task]}
dir=${dirs[$task]}
job=${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}
mkdir -p "$dir"
printf '{"job": "%s", "node": "%s", "start": %s, "restarts": %s}\n' "$job" "$(hostname -s)" "$(date +%s)" "${SLURM_RESTART_COUNT:-0}" > "$dir/job.json"
@WMGEOM@ run @PIPELINE_ARG@ --only "$inst" --cache-dir @CACHE@ --out "$dir" --no-progress --expect-key "${keys[$task]}" --threads @THREADS@@MORE@ &
child=$!
# The time-limit warning (USR1, to this shell) and preemption (TERM) stop wmgeom,
# which saves checkpoints and exits @STOPPED@.
# Slurm may send the warning up to a minute early, even before wmgeom has
# installed its handler (while it loads): then the signal kills it, before it
# computed anything, and that counts as stopped too.
signalled=0
trap 'signalled=1; kill -USR1 $child 2>/dev/null' USR1
trap 'signalled=1; kill -TERM $child 2>/dev/null' TERM
while :; do wait $child; rc=$?; kill -0 $child 2>/dev/null || break; done
if [ $signalled -eq 1 ] && { [ $rc -eq @RC_USR1@ ] || [ $rc -eq @RC_TERM@ ]; }; then
  echo "wmgeom: $inst was ended by the forwarded signal before it could catch it (it was starting)" >&2
  rc=@STOPPED@
fi
if [ $rc -eq @STOPPED@ ]; then
  # A cancel (scancel, wmgeom cancel) sends TERM too: a job no longer RUNNING
  # was cancelled, and requeueing it would undo the cancel.
  state=$(squeue -h -j "$job" -o %T 2>/dev/null)
  if [ -n "$state" ] && [ "$state" != RUNNING ]; then
    echo "wmgeom: $inst stopped and its job is $state (cancelled): not requeued" >&2
    exit $rc
  fi
  n=${SLURM_RESTART_COUNT:-0}
  if [ $n -ge @MAX_REQUEUES@ ]; then
    echo "wmgeom: $inst was stopped by its time limit or preemption $((n + 1)) times; max_requeues = @MAX_REQUEUES@ in the cluster profile: failing. Raise minutes for stage type @TYPE@ in the profile." >&2
    echo "{\"error\": \"stopped $((n + 1)) times by its time limit or preemption (max_requeues = @MAX_REQUEUES@)\"}" > "$dir/requeue.json"
    exit 1
  fi
  echo "wmgeom: $inst stopped, checkpoint saved; requeueing (restart $((n + 1)) of at most @MAX_REQUEUES@)" >&2
  scontrol requeue "$job"
  exit 0
fi
exit $rc
