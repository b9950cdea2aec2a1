#!/usr/bin/env python3
"""Recomputes the compare stage's model_pairs table with numpy and scipy.

    compare_models.py OUT [--tables tables-distances]

OUT is a run's output folder (examples/pytorch_gru/run.sh: WORK/out) whose
compare instance imported its models with `import` stages (instance names
"NAME[path=FOLDER]"): each model's states are read from its folder (the
StateSet layout), the shared trials found by (task name, images), and per
frame and pair the per-image mean states compared by linear CKA
(||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F) on centred columns) and by the
Procrustes angle, here through scipy.linalg.orthogonal_procrustes (the
rotation R minimising ||X R - Y||_F, then arccos <X R, Y>_F of the centred,
unit-norm X, Y), an independent route to the stage's nuclear norm. Exit 1
if any value differs by more than 1e-6 (printed), 0 otherwise."""
import csv
import json
import pathlib
import re
import sys

import numpy as np
from scipy.linalg import orthogonal_procrustes


def load(folder):
    folder = pathlib.Path(folder)
    meta = json.loads((folder / "meta.json").read_text())["meta"]["model"]
    arrays = {n: np.load(folder / f"{n}.npy") for n in ("hidden", "task", "stimulus")}
    keys = {}
    for i, (k, row) in enumerate(zip(arrays["task"], arrays["stimulus"])):
        keys[(meta["tasks"][k],) + tuple(int(v) for v in row)] = i
    return arrays, keys


def image_means(arrays, rows, t):
    stim = arrays["stimulus"][rows, t]
    states = arrays["hidden"][rows, t].astype(np.float64)
    images = np.unique(stim)
    return np.stack([states[stim == im].mean(axis=0) for im in images])


def cka(x, y):
    x, y = x - x.mean(0), y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def angle(x, y):
    x, y = x - x.mean(0), y - y.mean(0)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    width = max(x.shape[1], y.shape[1])  # zero-pad to a common width
    x = np.pad(x, ((0, 0), (0, width - x.shape[1])))
    y = np.pad(y, ((0, 0), (0, width - y.shape[1])))
    r, _ = orthogonal_procrustes(x, y)
    return float(np.arccos(np.clip(np.sum((x @ r) * y), -1, 1)))


def main(out, tables="tables-distances"):
    out = pathlib.Path(out)
    models, worst, checked = {}, 0.0, 0
    with open(out / tables / "model_pairs.csv") as f:
        rows = list(csv.DictReader(f))
    for name in {r["model_a"] for r in rows} | {r["model_b"] for r in rows}:
        m = re.search(r"path=([^,\]]+)", name)
        if not m:
            sys.exit(f"compare_models.py: {name}: not an import instance with a path label")
        models[name] = load(m.group(1))
    for r in rows:
        (a, ka), (b, kb) = models[r["model_a"]], models[r["model_b"]]
        shared = [k for k in ka if k in kb]
        ra, rb = [ka[k] for k in shared], [kb[k] for k in shared]
        t = int(float(r["frame"]))
        x, y = image_means(a, ra, t), image_means(b, rb, t)
        for column, value in (("cka", cka(x, y)), ("procrustes_angle", angle(x, y))):
            diff = abs(value - float(r[column]))
            worst = max(worst, diff)
            checked += 1
            if diff > 1e-6:
                print(f"{r['model_a']} vs {r['model_b']} frame {t} {column}: stage "
                      f"{float(r[column]):.9f}, numpy/scipy {value:.9f}")
    print(f"compare_models.py: {checked} values of {len(rows)} pair-frames, worst difference "
          f"{worst:.2e}")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
