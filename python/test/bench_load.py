#!/usr/bin/env python3
"""The cached-load benchmark of the Python module (README "From Python").

For the largest StateSet of a pipeline (by bytes), alternately, REPEATS
times each:
  python  wmgeom.load(PIPELINE, INSTANCE): plan, cached load, NumPy views;
  engine  the same plan and Executor::materialize in C++ alone
          (_wmgeom.engine_load), no Python object made.
Prints the medians and their ratio (the goal: python within 1.2x of
engine: no copy after decompression), and the bare Cache::load and the
planning time for reference. Both read the same cache entry, in one process,
interleaved, so machine load affects both alike.

    PYTHONPATH=build/python python3 python/test/bench_load.py [PIPELINE] [--set-file F]
        [--cache-dir DIR] [--repeats N]
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import wmgeom
from wmgeom import _wmgeom

root = pathlib.Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pipeline", nargs="?", default=str(root / "pipelines" / "quickstart.toml"))
    ap.add_argument("--set-file", help="overrides as JSON (e.g. python/tiny_quickstart.json)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    sets = {}
    if a.set_file:
        sets = {k: v for k, v in json.loads(pathlib.Path(a.set_file).read_text()).items() if k != "//"}
    cache = a.cache_dir or str(root / ".wmgeom-cache")
    plan = wmgeom.validate(a.pipeline, set=sets)
    states = [i for i in plan if i["kind"] == "StateSet"]
    if not states:
        sys.exit(f"{a.pipeline} has no StateSet")
    raw_sets = wmgeom._sets(sets)
    sizes = {}
    for i in states:
        try:
            sizes[i["name"]] = _wmgeom.engine_load(a.pipeline, raw_sets, i["name"], cache)["bytes"]
        except ValueError:
            pass  # not cached
    if not sizes:
        sys.exit(f"no StateSet of {a.pipeline} is cached in {cache}; run the pipeline first")
    name = max(sizes, key=sizes.get)
    py, eng, bare, planning = [], [], [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        art = wmgeom.load(a.pipeline, name, set=sets, cache_dir=cache)
        py.append(time.perf_counter() - t0)
        del art
        e = _wmgeom.engine_load(a.pipeline, raw_sets, name, cache)
        eng.append(e["plan_s"] + e["load_s"])
        bare.append(e["cache_load_s"])
        planning.append(e["plan_s"])
    mp, me = statistics.median(py), statistics.median(eng)
    print(f"instance {name}: {sizes[name] / 1e6:.1f} MB in {len(art_arrays(a.pipeline, name, sets, cache))} arrays")
    print(f"python wmgeom.load     median {mp * 1e3:8.1f} ms")
    print(f"engine plan+materialize median {me * 1e3:8.1f} ms  (plan {statistics.median(planning) * 1e3:.1f} ms)")
    print(f"engine Cache::load      median {statistics.median(bare) * 1e3:8.1f} ms")
    print(f"ratio python/engine     {mp / me:.3f}  (goal <= 1.2)")


def art_arrays(pipeline, name, sets, cache):
    return wmgeom.load(pipeline, name, set=sets, cache_dir=cache).arrays


if __name__ == "__main__":
    main()
