#!/bin/bash
# Threads under contention (issue 14, item 3): one stage of the quickstart
# (default: cnn, the features stage: the built-in CNN trains at its hashed
# width of 2 threads, then extracts at the run's width) computed on a quiet
# machine and beside one busy process (a shell spin loop, which takes one
# core), under GNU OpenMP's default waiting (spin 300,000 rounds before
# sleeping: GOMP_SPINCOUNT=300000, its default and what wmgeom had before)
# and under wmgeom's passive waiting (neither variable set: wmgeom sets
# OMP_WAIT_POLICY=passive and re-executes itself). Every timing in one
# run, so the ratios compare like with like. Goal: busy / quiet <= 2.2 with
# wmgeom's policy when one of two cores is taken.
#
# Usage: bench/contention.sh [STAGE] [REPEATS] [SET...]    (default: cnn 2)
# SET: overrides for every run, as `wmgeom run --set` takes them, e.g.
#   bench/contention.sh vanilla 2 stage.vanilla.threads=2
# (a training at 2 threads of its own, issue 23).
# Prints a table and writes it to build/contention.txt. Takes ~10 minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build" wmgeom >&2
wmgeom="${WMGEOM_BUILD_DIR:-$root/build}/app/wmgeom"
stage="${1:-cnn}"
repeats="${2:-2}"
sets=()
for s in "${@:3}"; do sets+=(--set "$s"); done
work=$(mktemp -d /tmp/wmgeom-contention.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
pipeline="$root/pipelines/quickstart.toml"
cache="$work/cache"
# Inputs once (cached); each timed run recomputes only STAGE (--from).
"$wmgeom" run "$pipeline" --only "$stage" "${sets[@]}" --cache-dir "$cache" --out "$work/out" --no-progress -q >&2

time_stage() {  # POLICY -> seconds (median of REPEATS)
  local policy="$1" times=()
  for ((r = 0; r < repeats; r++)); do
    local start end
    start=$(date +%s.%N)
    if [[ $policy == passive ]]; then
      env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$wmgeom" run "$pipeline" --only "$stage" --from "$stage" "${sets[@]}" --cache-dir "$cache" --out "$work/out" --no-progress -q
    else
      env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=300000 "$wmgeom" run "$pipeline" --only "$stage" --from "$stage" "${sets[@]}" --cache-dir "$cache" --out "$work/out" --no-progress -q
    fi
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}

busy_start() { (while :; do :; done) & busy=$!; }
busy_stop() { kill "$busy" 2>/dev/null; wait "$busy" 2>/dev/null || true; }

declare -A t
for policy in spin passive; do
  t[$policy,quiet]=$(time_stage "$policy")
  busy_start
  t[$policy,busy]=$(time_stage "$policy")
  busy_stop
  echo "$policy: quiet ${t[$policy,quiet]} s, busy ${t[$policy,busy]} s" >&2
done
out="${WMGEOM_BUILD_DIR:-$root/build}/contention.txt"
{
  echo "stage $stage of the quickstart${3:+ (${*:3})}, $(nproc) cores, median of $repeats; busy = one shell spin loop beside it"
  printf '%-28s %10s %10s %8s\n' "OpenMP waiting" "quiet s" "busy s" "ratio"
  for policy in spin passive; do
    label=$([[ $policy == spin ]] && echo "spin (GNU OpenMP default)" || echo "passive (wmgeom)")
    printf '%-28s %10.1f %10.1f %8.2f\n' "$label" "${t[$policy,quiet]}" "${t[$policy,busy]}" \
      "$(echo "${t[$policy,busy]} / ${t[$policy,quiet]}" | bc -l)"
  done
} | tee "$out"
