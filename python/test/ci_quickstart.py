#!/usr/bin/env python3
"""Runs the quickstart at test size (tiny_quickstart.json) through the Python
module: the fixture of the Python tests and of the notebooks in CI.

    PYTHONPATH=build/python python3 python/test/ci_quickstart.py [CACHE_DIR OUT_DIR]
"""
import json
import logging
import pathlib
import sys

import wmgeom

here = pathlib.Path(__file__).resolve().parent
root = here.parents[1]


def tiny_set():
    return {k: v for k, v in json.loads((here / "tiny_quickstart.json").read_text()).items() if k != "//"}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    cache = sys.argv[1] if len(sys.argv) > 1 else None
    out = sys.argv[2] if len(sys.argv) > 2 else None
    summary = wmgeom.run(root / "pipelines" / "quickstart.toml", set=tiny_set(), cache_dir=cache, out=out)
    print(f"{summary.pipeline}: {len(summary.instances)} instances, computed {len(summary.computed())}, "
          f"{summary.seconds:.1f} s")
