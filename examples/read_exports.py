#!/usr/bin/env python3
"""Reading wmgeom exports with numpy alone (no wmgeom code).

    wmgeom export PIPELINE STAGE DIR      # writes DIR/*.npy, DIR/meta.json (+ *.csv)
    python3 examples/read_exports.py DIR

For a swept stage DIR holds one folder per instance (e.g. light.channel=red/).
meta.json says the artifact kind, its metadata, and each array's dtype/shape.
"""
import csv
import json
import pathlib
import sys

import numpy as np


def load(folder):
    """Returns (kind, metadata, {name: array}, {table: rows}) of one export."""
    folder = pathlib.Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    arrays = {}
    for name, info in meta["arrays"].items():
        a = np.load(folder / info["file"])
        assert a.dtype == np.dtype(info["dtype"]) and list(a.shape) == info["shape"], name
        arrays[name] = a
    tables = {}
    for table in meta["meta"].get("tables", {}):
        with open(folder / f"{table}.csv", newline="") as f:
            tables[table] = list(csv.DictReader(f))
    return meta["kind"], meta["meta"], arrays, tables


def describe(folder):
    kind, meta, arrays, tables = load(folder)
    print(f"{folder}: {kind}")
    for name, a in arrays.items():
        print(f"  {name:28s} {str(a.dtype):8s} {a.shape}")
    for name, rows in tables.items():
        print(f"  table {name}: {len(rows)} rows, columns {list(rows[0]) if rows else []}")
    if kind == "StimulusSet":
        images = arrays["images"]  # uint8 [N, 3, S, S]
        print("  categories:", meta["category_names"], " images per split:", np.bincount(arrays["split"]))
    if kind == "FeatureBank":
        f = arrays["features"]  # [N, C, h, w], row i = stimulus i
        print("  feature map", f.shape[1:], " mean activation", float(f.mean()))
    if kind == "StateSet":
        h = arrays["hidden"]  # [trials, frames, units]
        print("  hidden states", h.shape, " tasks:", meta["model"]["tasks"])
    if kind == "AnalysisResult":
        # Relevant vs irrelevant decoding at the encoding frame, per model.
        acc = {}
        for r in tables.get("decoding", []):
            if r["train_frame"] == r["stim_frame"]:
                acc.setdefault((r["model"], r["relevant"]), []).append(float(r["accuracy"]))
        for (model, relevant), v in sorted(acc.items()):
            label = "relevant" if float(relevant) else "irrelevant"
            print(f"  {model}: {label} features decoded at {np.mean(v):.3f} (encoding frame)")
        findings = json.loads((pathlib.Path(folder) / "findings.json").read_text())
        for k, f in sorted(findings.items()):
            # The verdict in findings.json's words ("depends on sample size" is
            # neither held nor not held); files with `held` only: from it.
            verdict = f.get("verdict") or {True: "held", False: "not held"}.get(f.get("held"), "not testable")
            print(f"  finding {k}: {verdict}: {f['title']}")
    return kind


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "export")
    folders = [root] if (root / "meta.json").exists() else sorted(p for p in root.iterdir() if (p / "meta.json").exists())
    if not folders:
        sys.exit(f"{root}: no meta.json here or one level below")
    for folder in folders:
        describe(folder)


if __name__ == "__main__":
    main()
