#!/bin/bash
# The Slurm executor against the same work run locally, in one session on one
# machine (a throwaway single-node cluster from scripts/slurm-local; needs
# root, or an existing cluster in $SLURM_CONF):
#   1. submission overhead per instance: `wmgeom run --executor slurm
#      --detach` of a pipeline of N instances in K declarations (sbatch once
#      per declaration; sweeps are arrays), wall time / N;
#   2. a small pipeline (source -> 8-member sweep -> sum, the engine's test
#      stages) end to end: cluster vs local wall time, the difference being
#      Slurm's scheduling and the jobs' start-up per dependency level;
#   3. with WMGEOM_BENCH_STUDY=1: pipelines/study.toml (36 trainings, one
#      analysis per model) on the cluster and locally, each from an empty
#      cache, and the critical path of its flow graph from the local run's
#      run.json (what N nodes approach).
# Usage: bench/slurm.sh [OUT]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WMGEOM_BUILD_DIR:-$root/build}"
"$root/scripts/build" wmgeom wmgeom_testcli >&2
testcli="$build/tests/wmgeom_testcli"
wmgeom="$build/app/wmgeom"
out="${1:-$(mktemp -d /tmp/wmgeom-bench-slurm.XXXXXX)}"
out=$(mkdir -p "$out" && cd "$out" && pwd)
if [[ -z ${SLURM_CONF:-} ]]; then
  eval "$("$root/scripts/slurm-local" start "$out/cluster")"
  trap '"$root/scripts/slurm-local" stop "$out/cluster"' EXIT
fi
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
: > "$out/summary.txt"
say() { echo "$*" | tee -a "$out/summary.txt"; }

# 1. Submission overhead: 12 declarations, 4 of them 25-member sweeps: 112 instances, 12 sbatch calls.
{
  echo -e '[pipeline]\nname = "overhead"\nseed = 1\n'
  for d in 0 1 2 3; do
    echo -e "[stage.src$d]\ntype = \"source\"\nn = 4\nvalue = $d.0\n"
    echo -e "[stage.sweep$d]\ntype = \"scale\"\nx = \"src$d\"\nsweep = { factor = [$(seq -s, 1 25 | sed 's/,/.0, /g').0] }\n"
    echo -e "[stage.sum$d]\ntype = \"sum\"\nxs = [\"sweep$d\"]\n"
  done
} > "$out/overhead.toml"
echo -e "[slurm]\nwmgeom = \"$testcli\"\npoll_seconds = 0.5\n" > "$out/profile.toml"
t0=$(now)
"$testcli" run "$out/overhead.toml" --executor slurm --profile "$out/profile.toml" --cache-dir "$out/cache-overhead" \
  --out "$out/overhead" --detach --quiet
t1=$(now)
"$testcli" cancel "$out/overhead.toml" --out "$out/overhead" --cache-dir "$out/cache-overhead" > /dev/null
n=$("$testcli" validate "$out/overhead.toml" | head -1 | sed 's/.*stages, \([0-9]*\) instances.*/\1/')
say "submission: $n instances in 12 jobs in $(secs "$t0" "$t1") s: $(echo "scale=4; $(secs "$t0" "$t1") / $n" | bc) s per instance"

# 2. A small pipeline end to end, cluster vs local.
cat > "$out/small.toml" <<'EOF'
[pipeline]
name = "small"
seed = 1

[stage.numbers]
type = "source"
n = 1000

[stage.scaled]
type = "scale"
x = "numbers"
sweep = { factor = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0] }

[stage.total]
type = "sum"
xs = ["scaled"]
EOF
t0=$(now)
"$testcli" run "$out/small.toml" --executor slurm --profile "$out/profile.toml" --cache-dir "$out/cache-small-slurm" \
  --out "$out/small-slurm" --quiet --no-progress
t1=$(now)
"$testcli" run "$out/small.toml" --cache-dir "$out/cache-small-local" --out "$out/small-local" --quiet --no-progress
t2=$(now)
say "small pipeline (10 instances, 3 dependency levels): slurm $(secs "$t0" "$t1") s, local $(secs "$t1" "$t2") s"

# 3. The study (optional: tens of minutes).
if [[ ${WMGEOM_BENCH_STUDY:-0} == 1 ]]; then
  echo -e "[slurm]\nwmgeom = \"$wmgeom\"\npoll_seconds = 5\n" > "$out/profile-study.toml"
  t0=$(now)
  "$wmgeom" run "$root/pipelines/study.toml" --executor slurm --profile "$out/profile-study.toml" \
    --cache-dir "$out/cache-study-slurm" --out "$out/study-slurm" --quiet --no-progress
  t1=$(now)
  "$wmgeom" run "$root/pipelines/study.toml" --cache-dir "$out/cache-study-local" --out "$out/study-local" --quiet --no-progress
  t2=$(now)
  say "study: slurm (one node, 2 cores) $(secs "$t0" "$t1") s, local $(secs "$t1" "$t2") s"
  # The critical path from the local run's record (run.json: each instance's
  # inputs and compute seconds; RunSummary::critical_path).
  python3 - "$out/study-local/run.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
path = json.load(open(sys.argv[1]))["critical_path"]
print(f"study critical path: {path['seconds']:.0f} s ({' -> '.join(path['instances'])}); "
      f"sum of all instances: {path['total_seconds']:.0f} s; ideal speed-up with enough nodes: "
      f"{path['total_seconds'] / path['seconds']:.1f}x")
PY
fi
cat "$out/summary.txt"
