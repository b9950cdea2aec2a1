#!/usr/bin/python3
"""Refits wmgeom's analyze decoders with scikit-learn on the same states and
folds: checks agreement (--check) and times scikit-learn on the same work.

Usage:
  compare_analyze.py STATES_DIR RESULT_DIR [--decoder svm|logistic] [--c 1.0]
                     [--check] [--time] [--limit N]
STATES_DIR: `wmgeom export` of a capture stage (hidden.npy, location.npy, ...).
RESULT_DIR: `wmgeom export` of the analyze stage run on those states
            (decoding.csv, cross_temporal.csv, array.folds.<model>.npy, meta.json).

For every cross-validated decoder family of the analysis (task x feature x
stimulus frame s x train frame t >= s x fold) it fits the scikit-learn model
(StandardScaler fitted on the training folds, LinearSVC or multinomial
LogisticRegression with the same C) and scores the held-out trials at every
test frame u >= s, exactly as wmgeom does. Decoding and cross-temporal rows
follow the lag rule (stages/analyze/README.md): where a frame read (u, and
u - (t - s)) is at a lag from s that is a positive multiple of the task's N
(the N of "loc-N"), only held-out trials whose label at s is not kin of the
label at a frame read (kin: the class; for identity, its category), the
argmax over the classes that are not; no score where fewer than 2 classes
would remain. The script decides the rule itself and checks that the
table's `scoring` column says the same. Orthogonality: for every row of
orthogonality.csv it refits the normals with scikit-learn on the same trials
and labels (array.ortho_labels.<model>.npy: the true labels, then each
image-level shuffle) in the same number of PCs, with ortho_reference.py
(StandardScaler for ortho_space = "standardize", PCA, one LinearSVC per class
on the PC scores), and compares the index and the shuffled-label null's mean.
--check: exit 1 unless every decoding and cross-temporal accuracy agrees
within 2 percentage points and every orthogonality index and null mean
within 0.02 (ortho_space "whitened", the version-5 path, is not checked).
"""
import argparse
import csv
import json
import sys
import time
import warnings

import os

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

warnings.filterwarnings("ignore", category=ConvergenceWarning)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ortho_reference  # noqa: E402  (beside this script)

COLUMNS = {"loc": "location", "cat": "category", "id": "identity"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("states")
    ap.add_argument("result")
    ap.add_argument("--decoder", default="svm")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="stop after N families (timing extrapolates)")
    a = ap.parse_args()

    meta = json.load(open(f"{a.result}/meta.json"))["meta"]
    params = meta["params"]
    features, folds_k = params["features"], params["folds"]
    smeta = json.load(open(f"{a.states}/meta.json"))["meta"]
    tasks = smeta["model"]["tasks"] if "model" in smeta else smeta["tasks"]
    x_all = np.load(f"{a.states}/hidden.npy").astype(np.float64)
    task_of = np.load(f"{a.states}/task.npy")
    labels = {f: np.load(f"{a.states}/{COLUMNS[f]}.npy") for f in features}
    fold_files = [k for k in json.load(open(f"{a.result}/meta.json"))["arrays"] if k.startswith("array.folds.")]
    if len(fold_files) > 1:
        sys.exit("compare_analyze.py: expected one analysed model in RESULT_DIR, found " + str(fold_files))
    # No folds: the analysis fitted no cross-validated decoders (orthogonality only).
    folds = np.load(f"{a.result}/{fold_files[0]}.npy") if fold_files else None  # [M, F, T]
    T = x_all.shape[1]
    frames = params["frames"]

    def make():
        # --check compares optima: scikit-learn run to convergence. Timing uses its defaults.
        tol = {"tol": 1e-8, "max_iter": 100000} if a.check else {"max_iter": 1000}
        if a.decoder == "svm":
            return LinearSVC(C=a.c, **tol)
        return LogisticRegression(C=a.c, **tol)

    # The lag rule's kin: identity -> its category (identities are unique
    # across categories); every other feature's class is its own kin.
    cat_all = np.load(f"{a.states}/category.npy")
    id_all = np.load(f"{a.states}/identity.npy")

    def kin_of(feature):
        k = int(labels[feature].max()) + 1
        kin = np.arange(k)
        if feature == "id":
            kin[id_all.ravel()] = cat_all.ravel() + k
        return kin

    def read_frames(task, s, t, u):
        """The frames a fit at t scored at u reads at a lag from s that is a
        positive multiple of the task's N: u, and u - (t - s)."""
        n_back = int(task.split("-")[1])
        return sorted({r for r in (u, u - (t - s)) if r >= 0 and r != s and abs(r - s) % n_back == 0})

    def rule(task, feature, s, t, u):
        """The scoring rule of a decoding or cross-temporal row: "all" where no
        frame is read at a lag kN, else "differ" (no score, "none", where
        fewer than 2 classes remain after excluding one kin group); "none"
        too for a fit at t read back at u = s when t - s is a multiple of N."""
        n_back = int(task.split("-")[1])
        if u == s and t != s and (t - s) % n_back == 0:
            return "none"  # read back at s from a fit at a lag kN: no leak-free trial (version 14)
        if not read_frames(task, s, t, u):
            return "all"
        kin = kin_of(feature)
        return "differ" if len(kin) - np.bincount(kin).max() >= 2 else "none"

    ours, rule_errors = {}, []
    for table in ("decoding", "cross_temporal"):
        try:
            with open(f"{a.result}/{table}.csv") as f:
                for r in csv.DictReader(f):
                    key = (r["task"], r["feature"], int(float(r["stim_frame"])), int(float(r["train_frame"])),
                           int(float(r["test_frame"])))
                    want = rule(key[0], key[1], key[2], key[3], key[4])
                    if r.get("scoring", "all") != want:
                        rule_errors.append((table, key, r.get("scoring"), want))
                    if want == "none":
                        if np.isfinite(float(r["accuracy"])):
                            rule_errors.append((table, key, "accuracy without a rule", r["accuracy"]))
                        continue
                    ours[(table,) + key] = float(r["accuracy"])
        except FileNotFoundError:
            pass

    theirs, fits, families = {}, 0, 0
    start = time.perf_counter()
    for k, task in enumerate(tasks if folds is not None else []):
        rows = np.nonzero(task_of == k)[0]
        for fi, feature in enumerate(features):
            for s in frames:
                if a.limit and families >= a.limit:
                    break
                families += 1
                y = labels[feature][rows, s]
                fold = folds[rows, fi, s]
                acc = {}
                for t in range(s, T):
                    for q in range(folds_k):
                        tr, te = fold != q, fold == q
                        scaler = StandardScaler().fit(x_all[rows[tr], t])
                        model = make().fit(scaler.transform(x_all[rows[tr], t]), y[tr])
                        fits += 1
                        for u in range(s, T):
                            xu = scaler.transform(x_all[rows[te], u])
                            pred = model.predict(xu)
                            how = rule(task, feature, s, t, u)
                            tables = ("cross_temporal", "decoding") if t == u else ("cross_temporal",)
                            if how == "all":
                                for table in tables:
                                    acc.setdefault((table, t, u), []).append(np.mean(pred == y[te]))
                            elif how == "differ":
                                # Exclude the kin of the label at every frame read;
                                # score trials whose label at s is not excluded
                                # and that keep at least 2 classes.
                                kin = kin_of(feature)
                                excluded = np.zeros((len(xu), len(kin)), bool)
                                for r in read_frames(task, s, t, u):
                                    yr = labels[feature][rows[te], r]
                                    excluded |= kin[None, :] == kin[yr][:, None]
                                d = np.full((len(xu), len(kin)), -np.inf)
                                d[:, model.classes_] = model.decision_function(xu)
                                d[excluded] = -np.inf
                                keep = ~excluded[np.arange(len(xu)), y[te]] & ((~excluded).sum(1) >= 2)
                                if keep.any():
                                    for table in tables:
                                        acc.setdefault((table, t, u), []).append(np.mean(d.argmax(1)[keep] == y[te][keep]))
                for (table, t, u), v in acc.items():
                    theirs[(table, task, feature, s, t, u)] = float(np.mean(v))
    cv_seconds = time.perf_counter() - start

    # Orthogonality: the same normals and nulls refitted with scikit-learn
    # (ortho_reference.py) on the trials and labels wmgeom fitted.
    orth_seconds, orth_fits, orth_worst, orth_worst_key, orth_compared = 0.0, 0, 0.0, None, 0
    label_files = [k for k in json.load(open(f"{a.result}/meta.json"))["arrays"] if k.startswith("array.ortho_labels.")]
    prep = params.get("ortho_space", "standardize")
    if label_files and prep in ("standardize", "raw") and os.path.exists(f"{a.result}/orthogonality.csv"):
        used = np.load(f"{a.result}/{label_files[0]}.npy")  # [M, F, T, 1 + shuffles], 255: not fitted
        rows_of = {}
        with open(f"{a.result}/orthogonality.csv") as f:
            for r in csv.DictReader(f):
                rows_of[(r["task"], r["feature"], int(float(r["stim_frame"])), r["space"])] = r
        spaces = {"rnn": x_all}
        if os.path.exists(f"{a.states}/perceptual.npy"):
            spaces["perceptual"] = np.load(f"{a.states}/perceptual.npy", mmap_mode="r")
        start = time.perf_counter()
        done = 0
        for (task, feature, s, space), r in rows_of.items():
            if a.limit and done >= a.limit:
                break
            done += 1
            k, fi = tasks.index(task), features.index(feature)
            rows = np.nonzero((task_of == k) & (used[:, fi, s, 0] != 255))[0]
            ys = used[rows, fi, s, :].T.astype(np.int64)
            x = np.asarray(spaces[space][rows, s], dtype=np.float64)
            ref = ortho_reference.indices(x, ys, int(float(r["dims"])), prep, a.c)
            orth_fits += ys.shape[0] * len(np.unique(ys[0]))
            for name, ours_v, theirs_v in (("index", float(r["index"]), ref[0]),
                                            ("null_shuffle_mean", float(r["null_shuffle_mean"]), float(np.mean(ref[1:])))):
                orth_compared += 1
                d = abs(ours_v - theirs_v)
                if d > orth_worst:
                    orth_worst, orth_worst_key = d, (task, feature, s, space, name)
        orth_seconds = time.perf_counter() - start

    worst, worst_key, compared = 0.0, None, 0
    for key, v in theirs.items():
        if key in ours:
            compared += 1
            d = abs(ours[key] - v)
            if d > worst:
                worst, worst_key = d, key
    print(f"decoders compared: {compared} (table, task, feature, stim frame, train frame, test frame) accuracies; "
          f"worst |wmgeom - scikit-learn| = {worst:.4f} at {worst_key}")
    for e in rule_errors[:10]:
        print(f"scoring rule: {e}")
    if orth_compared:
        print(f"orthogonality compared: {orth_compared} indices and null means ({prep}); "
              f"worst |wmgeom - scikit-learn| = {orth_worst:.4f} at {orth_worst_key}")
    if a.time:
        print(json.dumps({"sklearn_cv_fits": fits, "sklearn_cv_seconds": cv_seconds, "sklearn_orth_fits": orth_fits,
                          "sklearn_orth_seconds": orth_seconds, "families": families}))
    if a.check:
        if compared + orth_compared == 0:
            sys.exit("compare_analyze.py: nothing to compare (no decoding, cross_temporal or orthogonality rows matched)")
        if rule_errors:
            sys.exit(f"compare_analyze.py: {len(rule_errors)} rows scored by another rule than the lag rule")
        if worst > 0.02:
            sys.exit(f"compare_analyze.py: disagreement {worst:.4f} > 0.02 at {worst_key}")
        if orth_worst > 0.02:
            sys.exit(f"compare_analyze.py: orthogonality disagreement {orth_worst:.4f} > 0.02 at {orth_worst_key}")


if __name__ == "__main__":
    main()
