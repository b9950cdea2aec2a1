#!/bin/bash
# End-to-end benchmark of the README's first command: the quickstart from an
# empty cache (goal: < 10 min on 2 cores), again with everything cached
# (goal: < 5 s), and with one analysis parameter changed (only analyze and
# report recompute). Prints each run's per-stage profile (wmgeom profile)
# and a summary; keeps the JSON profiles and report.html in OUT.
#
# Usage: bench/e2e_quickstart.sh [OUT]     (default OUT: a fresh temp dir)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build" wmgeom >&2
wmgeom="${WMGEOM_BUILD_DIR:-$root/build}/app/wmgeom"
out="${1:-$(mktemp -d /tmp/wmgeom-e2e.XXXXXX)}"
mkdir -p "$out"
cache="$out/cache"
rm -rf "$cache"
pipeline="$root/pipelines/quickstart.toml"

run() {  # NAME ARGS...
  local name="$1"; shift
  echo "== $name" >&2
  local start end
  start=$(date +%s.%N)
  "$wmgeom" profile "$pipeline" --cache-dir "$cache" --out "$out/$name" --json "$out/$name.json" --quiet "$@"
  end=$(date +%s.%N)
  echo "$name wall $(echo "$end - $start" | bc) s" >> "$out/summary.txt"
}

: > "$out/summary.txt"
run cold
run cached
run changed --set stage.geometry.folds=4
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
for name in ("cold", "cached", "changed"):
    p = json.load(open(f"{out}/{name}.json"))
    stages = p.get("stages", [])
    recomputed = [s["stage"] for s in stages if s.get("cache") == "miss"]
    print(f"{name}: {p.get('seconds', 0):.1f} s engine time; recomputed: {', '.join(recomputed) or 'nothing'}")
    if name == "cold":
        for s in stages:
            print(f"  {s['stage']:<18} {s['type']:<9} {s['seconds']:>8.1f} s  {s.get('items', 0):>9} {s.get('items_unit', '')}"
                  f"  {s.get('items_per_s', 0):>10.1f}/s")
PY
cat "$out/summary.txt"
echo "profiles and reports in $out"
