#!/usr/bin/env python3
"""Recomputes the recordings stage's scores and noise ceiling with scipy.

    rsa_reference.py OUT RUN_FOLDER [RECORDINGS [INSTANCE]]

OUT is a run's output folder (examples/pytorch_gru/run.sh: WORK/out),
RUN_FOLDER the folder of its pipeline file (WORK), against which the
imported models' paths (instance names "NAME[path=FOLDER]") are read,
RECORDINGS the recordings folder (default RUN_FOLDER/recordings) and
INSTANCE the recordings stage's instance (default neural). From the raw files, independently of the
stage: each model's mean state per condition (trials showing the image at
the condition's frame), RDMs by scipy.spatial.distance.pdist(metric=
"correlation"), Spearman by scipy.stats.spearmanr, the whitened cosine with
the dense covariance V = (C C')∘(C C') inverted by numpy, and the noise
ceiling (upper: each subject against the mean of all, lower: against the
mean of the others; ranks averaged for Spearman, V^-1-unit-norm RDMs for the
whitened cosine). Compared with tables-INSTANCE/recordings_scores.csv and
recordings_ceiling.csv, and, when RUN_FOLDER/INSTANCE holds `wmgeom export`
of the instance (run.sh writes it), the RDMs themselves:
array.model_rdms.npy [models, views, pairs] and array.recording_rdms.npy
[subjects, pairs], entry by entry. Exit 1 if any value differs by more than
1e-6."""
import csv
import pathlib
import re
import sys

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import rankdata, spearmanr


def whitening(k):
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    c = np.zeros((len(pairs), k))
    for p, (i, j) in enumerate(pairs):
        c[p, i], c[p, j] = 1, -1
    xi = c @ c.T
    return np.linalg.inv(xi * xi)


def wcos(a, b, w):
    return a @ w @ b / np.sqrt((a @ w @ a) * (b @ w @ b))


def compare(kind, a, b, w):
    return spearmanr(a, b)[0] if kind == "spearman" else wcos(a, b, w)


def ceiling(kind, subjects, w):
    if kind == "spearman":
        scaled = [rankdata(d) for d in subjects]
    else:
        scaled = [d / np.sqrt(d @ w @ d) for d in subjects]
    total = np.sum(scaled, axis=0)
    n = len(subjects)
    upper = np.mean([compare(kind, d, total / n, w) for d in subjects])
    lower = np.mean([compare(kind, d, (total - s) / (n - 1), w)
                     for d, s in zip(subjects, scaled)]) if n > 1 else float("nan")
    return lower, upper


def main(out, folder, recordings=None, instance="neural"):
    out, folder = pathlib.Path(out), pathlib.Path(folder)
    rec = pathlib.Path(recordings) if recordings else folder / "recordings"
    image = np.load(rec / "image.npy")
    frame = np.load(rec / "frame.npy") if (rec / "frame.npy").exists() else None
    if (rec / "responses.npy").exists():
        subjects = [pdist(r.astype(np.float64), "correlation") for r in np.load(rec / "responses.npy")]
    else:
        iu = np.triu_indices(len(image), 1)
        subjects = [d[iu] for d in np.load(rec / "rdms.npy").astype(np.float64)]
    k = len(image)
    w = whitening(k)
    tables = out / f"tables-{instance}"
    exported = folder / instance
    model_rdms = np.load(exported / "array.model_rdms.npy") if exported.is_dir() else None
    worst, checked = 0.0, 0
    if model_rdms is not None:
        stage_subjects = np.load(exported / "array.recording_rdms.npy")
        diff = float(np.max(np.abs(stage_subjects - np.stack(subjects))))
        worst, checked = max(worst, diff), checked + stage_subjects.size
        if diff > 1e-6:
            print(f"recording RDMs: largest difference {diff:.3g}")
    with open(tables / "recordings_scores.csv") as f:
        rows = list(csv.DictReader(f))
    names = list(dict.fromkeys(r["model"] for r in rows))  # the stage's model order
    for r in rows:
        m = re.search(r"path=([^,\]]+)", r["model"])
        if not m:
            sys.exit(f"rsa_reference.py: {r['model']}: not an import instance with a path label")
        states = folder / m.group(1)
        hidden = np.load(states / "hidden.npy").astype(np.float64)
        stim = np.load(states / "stimulus.npy")
        t = int(float(r["frame"]))
        frames = frame if t < 0 else np.full(k, t)
        means = np.stack([hidden[stim[:, f] == im, f].mean(axis=0) for im, f in zip(image, frames)])
        rdm = pdist(means, "correlation")
        if model_rdms is not None:
            views = [int(float(x["frame"])) for x in rows if x["model"] == r["model"]]
            stage_rdm = model_rdms[names.index(r["model"]), views.index(t)]
            diff = float(np.max(np.abs(stage_rdm - rdm)))
            worst, checked = max(worst, diff), checked + rdm.size
            if diff > 1e-6:
                print(f"{r['model']} frame {t}: RDM differs by {diff:.3g}")
        for kind in ("spearman", "whitened_cosine"):
            value = np.mean([compare(kind, rdm, d, w) for d in subjects])
            diff = abs(value - float(r[kind]))
            worst, checked = max(worst, diff), checked + 1
            if diff > 1e-6:
                print(f"{r['model']} frame {t} {kind}: stage {float(r[kind]):.9f}, scipy {value:.9f}")
    with open(tables / "recordings_ceiling.csv") as f:
        for r in csv.DictReader(f):
            lower, upper = ceiling(r["comparison"], subjects, w)
            for name, value in (("lower", lower), ("upper", upper)):
                diff = abs(value - float(r[name]))
                worst, checked = max(worst, diff), checked + 1
                if diff > 1e-6:
                    print(f"ceiling {r['comparison']} {name}: stage {float(r[name]):.9f}, "
                          f"scipy {value:.9f}")
    print(f"rsa_reference.py: {checked} values ({len(rows)} model-views, {len(subjects)} "
          f"subjects, {k} conditions{', RDMs included' if model_rdms is not None else ''}), "
          f"worst difference {worst:.2e}")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
