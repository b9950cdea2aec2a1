#!/usr/bin/python3
"""Recomputes findings 2 and 4 per model with scikit-learn, independently of
wmgeom's decoder engine, from `wmgeom export` of the states, and compares
them with the study's tables (issue 20, "Done when").

Usage:
  recompute_findings.py TABLES_DIR STATES_DIR [STATES_DIR ...]
                        [--findings 2,4] [--folds 3] [--seed 7]
                        [--permutations R] [--null-rule wmgeom|numpy]
                        [--fold-rule wmgeom|sklearn]
                        [--check] [--tolerance 0.03] [--json OUT]
TABLES_DIR: a run's tables/ folder, or `wmgeom export` of the analysis
            (the findings instance, e.g. `wmgeom export pipelines/study.toml
            verdicts DIR`, or one analyze instance): its tables
            (cross_task.csv, temporal_hypotheses.csv, procrustes.csv,
            procrustes_centroids.csv) and meta.json, whose models' states
            keys seed each model's own permutations (analyze version 13).
            Without meta.json (a run's tables/ written before 2026-12-06, or
            CSVs copied alone) --null-rule wmgeom refuses (exit 2) rather
            than draw other permutations.
STATES_DIR: `wmgeom export` of one capture instance (hidden.npy, task.npy,
            stimulus.npy, location.npy, category.npy, identity.npy, meta.json).
            Its model name in the tables is found by the folder name (the
            instance name with every character other than [A-Za-z0-9]
            written as '_', as `wmgeom export` names it), or give --model
            NAME for a single folder.
--folds, --seed: the analyze stage's `folds` and `seed` (the study: 3, and
            the pipeline seed 7).

What it computes, per model (stages/analyze/README.md, "Independent
recomputation"); nothing here calls wmgeom or reads its decoders:
 * decoders: StandardScaler fitted on the training folds, then
   LinearSVC(C=1) (one-vs-rest squared hinge, intercept regularised: the
   analyze stage's decoder = "svm"), dual coordinate descent at tol 1e-2;
 * folds grouped by the image shown at the decoded frame, stratified by
   label. --fold-rule wmgeom (default) deals the images to folds by the rule
   wmgeom documents (decoders/linear.h: per class, a seeded Fisher-Yates
   shuffle of its images dealt in turn, continuing where the previous class
   stopped; seed from the pipeline seed, task, feature and frame), written
   here from that description; --fold-rule sklearn uses
   StratifiedGroupKFold(shuffle=True) instead (other folds: the difference
   then measures fold noise as well);
 * empirical chance: the same decoders refitted on image-level label
   permutations (every trial of an image keeps one label). --null-rule
   wmgeom (default) draws them by the rule the analyze README documents
   ("Empirical chance on every row": per family and model, permutation r a
   seeded Fisher-Yates shuffle of the images' labels, the model's states key
   read from the tables' meta.json), written here from that
   description, so the null is the same draw as the tables' (a null of 20
   draws moves a relative swap score by several hundredths: see the README);
   --null-rule numpy draws its own with numpy. --permutations: how many
   (default: the tables' `permutations` column with --null-rule wmgeom, 5
   with numpy);
 * the leak rule: fold q's decoder is scored only on trials whose image at
   the scored frame was not among the training images of fold q of every
   family whose decoders enter the prediction (the elapsed-shifted swap:
   the next stimulus's family and the source family whose decoders fit R);
 * the lag rule: a decoder scored at frame u on the label at s, with u - s a
   positive multiple of the task's N, is scored on the trials whose label at
   s is not kin of the label at u (kin: the class; for identity, every
   identity of its category), with the argmax over the classes that are not
   (its null: the permuted fits scored the same way against the true
   labels); H1/H2 exclude kin the same way at every j, and also the kin of
   the label at j - N where s >= N and j - N > s (the memory echo: the fit at
   s weighs the memory of s - N, read at j as the memory of j - N; for H1
   only where j - N - s is a multiple of N); H2's mean is over the rows with
   s < N only (finding 4 since version 15).
Finding 2: normalised cross-task generalisation at stimulus frame 0,
   sum(gen - chance) / sum(val - chance) over the (feature, train task, test
   task != train task) cells whose validation beats the 95th percentile of its
   own empirical chance.
Finding 4: H1 - halfway(H1 chance, H1 validation) and H2 - H2 chance over the
   task-relevant features (argmax over the classes not kin of the other
   stimulus's label, on held-out trials whose labels at s and j are not kin
   and whose image at j is unseen by the fold), and the declared (centroid)
   swap test (README "The centroid swap"): per fold, the class centroids of
   stimulus s fitted jointly with the other stimuli's codes (numpy least
   squares of the states on one-hot labels of every stimulus shown so far,
   the stimulus's block centred over classes), R fitted between the
   centroids at t and t + 1 (the closest-to-identity rule) and applied to
   the centroids of (s + 1, t + 1) and (s, t + 1); held-out states less the
   target's offsets classified by the nearest predicted centroid, against
   the target's own centroids and their permuted-label null, by the same
   leak and lag rules and the same pairing as below; and its control (finding
   4's fourth test since findings version 5): the elapsed-shifted swap's
   relative score minus the same swap's with the next stimulus's centroids
   put in place unrotated (times R's scale). Also the paper's swap
   on decoder weights (supporting in the tables, "decoder-weight swap"):
   mean over source cells (task, s, t) of relative(elapsed-shifted) -
   relative(time-shifted), relative = (swap - chance) / (fitted - chance)
   against the target decoder at its own cell on the same trials, scored
   by the same rule, over the pairs whose two targets beat the 95th
   percentile of their empirical chance. Rotations:
   orthogonal Procrustes with a common scale between the centred, unit-norm
   class normals (w / sd) of consecutive frames, as SCIENCE.md 4.4 states,
   acting on the span of the two normal sets and as the identity outside it.
--check: exit 1 if any per-model quantity differs from the tables' by more
than --tolerance (0.03), the swap test included; --no-swap-check leaves it
and the rotation's control out (useful with --null-rule numpy: the swaps'
relative scores divide by the target's distance from its null, so another
null draw moves them).
--completions N: the swap test also under N random completions of the
rotation (each an equally optimal Procrustes solution: the K class normals
fix the rotation only on their own row space), to show its spread.
"""
import argparse
import csv
import json
import os
import re
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

warnings.filterwarnings("ignore", category=ConvergenceWarning)

COLUMNS = {"loc": "location", "cat": "category", "id": "identity"}
FEATURES = ["loc", "cat", "id"]
M64 = (1 << 64) - 1


# ---- wmgeom's documented fold rule (decoders/linear.h, core/random.h) ----
def _mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def _combine(a, b):
    return _mix64(a ^ _mix64((b + 0x632BE59BD9B4E019) & M64))


def _fnv1a(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


class _Counter:
    def __init__(self, seed):
        self.state = _mix64(seed)

    def below(self, m):  # uniform integer in [0, m)
        self.state = (self.state + 0x9E3779B97F4A7C15) & M64
        return _mix64(self.state) % m


def folds_wmgeom(y, groups, k, seed, task, feature, stim):
    """Images (groups) dealt to k folds class by class: each class's images
    (ascending id) shuffled by a seeded Fisher-Yates and dealt in turn,
    continuing where the previous class stopped."""
    fam = _combine(_combine(seed, _fnv1a(f"{task}/{feature}")), stim)
    images = np.unique(groups)
    label = {g: int(y[np.nonzero(groups == g)[0][0]]) for g in images}
    fold_of, nxt = {}, 0
    for c in sorted(set(label.values())):
        mine = [g for g in images if label[g] == c]
        rng = _Counter(_combine(fam, c))
        for i in range(len(mine), 1, -1):
            j = rng.below(i)
            mine[i - 1], mine[j] = mine[j], mine[i - 1]
        for j, g in enumerate(mine):
            fold_of[g] = (nxt + j) % k
        nxt = (nxt + len(mine)) % k
    return np.array([fold_of[g] for g in groups])


def permuted_wmgeom(img_label, seed, task, feature, stim, r, draw_id):
    """Permutation r of the labels of the images (ascending image id), by the
    rule the analyze README documents: a Fisher-Yates shuffle from the last
    position down, position i - 1 swapped with a uniform draw in [0, i),
    from a counter generator seeded with combine(model seed ^ 0x9E11, r),
    the model seed combine(family seed, fnv1a(draw_id)): draw_id is the
    model's states key (its name when it has none)."""
    fam = _combine(_combine(seed, _fnv1a(f"{task}/{feature}")), stim)
    own = _combine(fam, _fnv1a(draw_id))
    rng = _Counter(_combine(own ^ 0x9E11, r))
    v = list(img_label)
    for i in range(len(v), 1, -1):
        j = rng.below(i)
        v[i - 1], v[j] = v[j], v[i - 1]
    return np.array(v)


def folds_sklearn(y, groups, k, seed, task, feature, stim):
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True,
                              random_state=(seed * 1000003 + _fnv1a(f"{task}/{feature}") % 997 * 10 + stim) % (2**31))
    fold = np.empty(len(y), dtype=int)
    for q, (_, te) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
        fold[te] = q
    return fold


def quantile(v, q):
    """Linear interpolation between order statistics (numpy's default)."""
    v = np.asarray([x for x in v if np.isfinite(x)])
    return float(np.quantile(v, q)) if len(v) else np.nan


# ---- one model ----
class Model:
    def __init__(self, folder, a, draw_id):
        self.draw_id = draw_id  # what the model's own permutations are seeded by
        meta = json.load(open(os.path.join(folder, "meta.json")))["meta"]
        self.tasks = meta["model"]["tasks"] if "model" in meta else meta["tasks"]
        self.x = np.load(os.path.join(folder, "hidden.npy")).astype(np.float64)  # [M, T, H]
        self.task = np.load(os.path.join(folder, "task.npy")).astype(int)
        self.image = np.load(os.path.join(folder, "stimulus.npy")).astype(int)
        self.labels = {f: np.load(os.path.join(folder, COLUMNS[f] + ".npy")).astype(int) for f in FEATURES}
        self.classes = {f: int(self.labels[f].max()) + 1 for f in FEATURES}
        # The lag rule's kin: identity -> its category (identities are unique
        # across categories); every other feature's class is its own kin.
        self.kin = {f: np.arange(self.classes[f]) for f in FEATURES}
        self.kin["id"][self.labels["id"].ravel()] = self.labels["cat"].ravel() + self.classes["id"]
        self.T = self.x.shape[1]
        self.a = a
        self.rule = folds_wmgeom if a.fold_rule == "wmgeom" else folds_sklearn
        self.families = {}
        self.fits = {}
        self.nfits = 0

    def family(self, k, feature, s):
        key = (k, feature, s)
        if key not in self.families:
            rows = np.nonzero(self.task == k)[0]
            y = self.labels[feature][rows, s]
            g = self.image[rows, s]
            fold = self.rule(y, g, self.a.folds, self.a.seed, self.tasks[k], feature, s)
            # Image-level permutations: each image keeps one label, and the
            # images' labels are handed out again in a shuffled order.
            images, inv = np.unique(g, return_inverse=True)
            img_label = np.zeros(len(images), dtype=int)
            img_label[inv] = y
            if self.a.null_rule == "wmgeom":
                null_y = np.stack([permuted_wmgeom(img_label, self.a.seed, self.tasks[k], feature, s, r,
                                                   self.draw_id)[inv]
                                   for r in range(self.a.permutations)])
            else:
                rng = np.random.default_rng([self.a.seed, k, FEATURES.index(feature), s])
                null_y = np.stack([rng.permutation(img_label)[inv] for _ in range(self.a.permutations)])
            self.families[key] = dict(k=k, feature=feature, s=s, rows=rows, y=y, images=g, fold=fold, null_y=null_y,
                                      K=self.classes[feature])
        return self.families[key]

    def fit(self, fam, t, q, r=-1):
        """Fold q's decoder of family fam fitted at frame t on the true labels
        (r = -1) or permutation r. Returns (W [K, H] in the states' units,
        i.e. coef / sd, b [K], scaler mean, coef, intercept)."""
        key = (fam["k"], fam["feature"], fam["s"], t, q, r)
        if key not in self.fits:
            train = fam["fold"] != q
            y = fam["y"] if r < 0 else fam["null_y"][r]
            xs = self.x[fam["rows"][train], t]
            sc = StandardScaler().fit(xs)
            svm = LinearSVC(C=self.a.c, tol=self.a.svm_tol, max_iter=self.a.svm_max_iter, random_state=0)
            svm.fit(sc.transform(xs), y[train])
            K, H = fam["K"], xs.shape[1]
            coef = np.zeros((K, H))
            icpt = np.full(K, -np.inf)  # a class absent from training is never predicted
            cls = svm.classes_
            if len(cls) == 2:  # scikit-learn keeps one hyperplane for two classes
                coef[cls[1]], icpt[cls[1]] = svm.coef_[0], svm.intercept_[0]
                coef[cls[0]], icpt[cls[0]] = -svm.coef_[0], -svm.intercept_[0]
            else:
                coef[cls], icpt[cls] = svm.coef_, svm.intercept_
            W = coef / sc.scale_
            b = icpt - W @ sc.mean_
            self.fits[key] = (W, b, sc.mean_, coef, icpt)
            self.nfits += 1
        return self.fits[key]

    def decision(self, fam, t, q, x, r=-1):
        W, b = self.fit(fam, t, q, r)[:2]
        return x @ W.T + b

    def trained_images(self, fam, q):
        return np.unique(fam["images"][fam["fold"] != q])


def masked(preds, target, keep):
    """Mean over folds with at least one kept trial of the accuracy on them:
    preds [Q, n], keep [Q, n]; returns (accuracy, folds scored)."""
    accs = [np.mean(preds[q][keep[q]] == target[keep[q]]) for q in range(len(keep)) if keep[q].any()]
    return (float(np.mean(accs)) if accs else np.nan), len(accs)


def argmax_except(d, excluded, kin):
    """The argmax over the classes that are not kin of excluded[i] (kin [K]:
    each class's kin group; identity: its category); `excluded` one label
    vector [n] or a list of them (every one's kin excluded)."""
    d = d.copy()
    d[kin_of_any(excluded, kin)] = -np.inf
    return d.argmax(1)


def kin_of_any(excluded, kin):
    """[n, K] bool: the classes kin of any label vector in `excluded`."""
    out = None
    for e in (excluded if isinstance(excluded, list) else [excluded]):
        k = kin[None, :] == kin[e][:, None]
        out = k if out is None else out | k
    return out


# ---- finding 2 ----
def finding2(m):
    Q, P, s = m.a.folds, m.a.permutations, 0
    sums = dict(gen=0.0, gen_chance=0.0, val=0.0, val_chance=0.0)
    used = excluded = 0
    for k in range(len(m.tasks)):
        for feature in FEATURES:
            f = m.family(k, feature, s)
            xa = m.x[f["rows"], s]
            held = [f["fold"] == q for q in range(Q)]
            val = np.mean([np.mean(m.decision(f, s, q, xa[held[q]]).argmax(1) == f["y"][held[q]]) for q in range(Q)])
            val_null = [np.mean([np.mean(m.decision(f, s, q, xa[held[q]], r).argmax(1) == f["null_y"][r][held[q]])
                                 for q in range(Q)]) for r in range(P)]
            p95 = quantile(val_null, 0.95)
            for b in range(len(m.tasks)):
                if b == k:
                    continue
                rows_b = np.nonzero(m.task == b)[0]
                xb, yb, ib = m.x[rows_b, s], m.labels[feature][rows_b, s], m.image[rows_b, s]
                keep = np.stack([~np.isin(ib, m.trained_images(f, q)) for q in range(Q)])
                gen, _ = masked(np.stack([m.decision(f, s, q, xb).argmax(1) for q in range(Q)]), yb, keep)
                gen_null = [masked(np.stack([m.decision(f, s, q, xb, r).argmax(1) for q in range(Q)]), yb, keep)[0]
                            for r in range(P)]
                if not val > p95:
                    excluded += 1
                    continue
                used += 1
                sums["gen"] += gen
                sums["gen_chance"] += np.mean(gen_null)
                sums["val"] += val
                sums["val_chance"] += np.mean(val_null)
    score = (sums["gen"] - sums["gen_chance"]) / (sums["val"] - sums["val_chance"]) if used else np.nan
    return {"normalised generalisation": score, "cells used": used, "cells excluded": excluded}


# ---- finding 4 ----
def centred_unit(w):
    mean = w.mean(0, keepdims=True)
    c = w - mean
    norm = max(np.linalg.norm(c), 1e-300)
    return c / norm, mean, norm


class Rotation:
    """Orthogonal Procrustes with a common scale from src onto tgt ([K, H]),
    acting within span(src, tgt) and as the identity outside it.

    The K class correspondences fix the rotation only on the row space of
    src (rank K - 1 after centring); on the rest of the span any orthogonal
    completion is equally optimal. completion: "closest" (default) takes the
    optimal rotation closest to the identity there (well defined);
    "lapack" whatever the SVD returns; "random" a random one (rng)."""

    def __init__(self, src, tgt, completion="closest", rng=None):
        u, sv, _ = np.linalg.svd(np.concatenate([src, tgt]).T, full_matrices=False)
        self.basis = u[:, sv > sv.max() * 1e-10]  # [H, m], m = rank
        a, b = src @ self.basis, tgt @ self.basis
        uu, ss, vt = np.linalg.svd(a.T @ b)
        r = int((ss > ss.max() * 1e-10).sum())
        rest = len(ss) - r
        if completion == "closest" and rest > 0:
            p, _, qt = np.linalg.svd(vt[r:] @ uu[:, r:])  # max trace of the completion
            o = qt.T @ p.T
        elif completion == "random" and rest > 0:
            o = np.linalg.qr(rng.normal(size=(rest, rest)))[0]
        else:
            o = np.eye(rest)
        self.r = uu[:, :r] @ vt[:r] + uu[:, r:] @ o @ vt[r:]
        self.scale = ss.sum() / max((a ** 2).sum(), 1e-300)

    def apply(self, w):
        c = w @ self.basis
        return (w + (c @ self.r - c) @ self.basis.T) * self.scale


def joint_codes(x, y_sets, others, use, K):
    """The code of one stimulus (README "The centroid swap"): least squares
    of the states x [n, H] on [1, one-hot(y), one-hot(each other stimulus's
    label)] over the trials `use`, for each label set y_sets [L, n] of the
    stimulus (others [n, J] or None: the labels of the other stimuli shown
    so far). Returns (c [L, K, H]: the stimulus's class coefficients centred
    over the classes present, 0 for absent ones; offset [L, n, H]: each
    trial's intercept, that centre and the other stimuli's coefficients of
    its labels; present [L, K])."""
    n = len(x)
    other = np.zeros((n, 0)) if others is None else np.eye(K)[others].reshape(n, -1)
    cs, offsets, presents = [], [], []
    for y in y_sets:
        design = np.concatenate([np.ones((n, 1)), np.eye(K)[y], other], 1)
        b = np.linalg.lstsq(design[use], x[use], rcond=None)[0]  # [P, H], minimum norm
        present = np.bincount(y[use], minlength=K) > 0
        own = b[1:1 + K]
        centre = own[present].mean(0)
        cs.append(np.where(present[:, None], own - centre, 0.0))
        offsets.append(b[0] + centre + other @ b[1 + K:])
        presents.append(present)
    return np.stack(cs), np.stack(offsets), np.stack(presents)


def nearest(x, c, offset, present, excluded=None, kin=None):
    """Nearest-centroid predictions [n] of states x [n, H] for centred
    centroids c [K, H] about offsets [n, H] (classes not present never
    predicted); with `excluded` [n], the nearest among the classes not kin
    of excluded[i] (kin [K], as argmax_except)."""
    d = (x - offset) @ c.T - 0.5 * (c ** 2).sum(1)
    d = np.where(present[None, :], d, -np.inf)
    return d.argmax(1) if excluded is None else argmax_except(d, excluded, kin)


def finding4(m):
    Q, P, T = m.a.folds, m.a.permutations, m.T
    h1, h1c, h2, h2c, val = [], [], [], [], []
    swaps, centroid_swaps, centroid_pairs = [], [], 0
    rotations = []  # the elapsed-shifted centroid swap's relative score, fitted rotation - none
    spread = [[] for _ in range(m.a.completions)]  # the same test under random completions
    rng = np.random.default_rng(m.a.seed)
    pairs = 0
    for k, task in enumerate(m.tasks):
        feature = task.split("-")[0]
        K, kin = m.classes[feature], m.kin[feature]
        if K - np.bincount(kin).max() < 2:
            continue
        n_back = int(task.split("-")[1])
        # H1 / H2 on every stimulus frame s and later frame j.
        for s in range(T):
            f = m.family(k, feature, s)
            xs = m.x[f["rows"], s]
            dec_s = [m.decision(f, s, q, xs) for q in range(Q)]
            for j in range(s + 1, T):
                yj = m.labels[feature][f["rows"], j]
                ij = m.image[f["rows"], j]
                # Excluded labels: the other stimulus's, and the memory echo's
                # (j - N where s >= N and j - N > s: the fit at s weighs the
                # memory of s - N, read at j as the memory of j - N), for H2
                # always, for H1 where j - N - s is a multiple of N.
                ex1, ex2 = [yj], [f["y"]]
                echo = j - n_back
                if s >= n_back and echo > s:
                    ye = m.labels[feature][f["rows"], echo]
                    ex2.append(ye)
                    if (echo - s) % n_back == 0:
                        ex1.append(ye)
                base = [(f["fold"] == q) & (kin[yj] != kin[f["y"]]) & ~np.isin(ij, m.trained_images(f, q))
                        for q in range(Q)]

                def usable(ex, target):
                    excl = kin_of_any(ex, kin)
                    ok = ~excl[np.arange(len(target)), target] & (len(kin) - excl.sum(1) >= 2)
                    return np.stack([b & ok for b in base])

                keep1, keep2 = usable(ex1, f["y"]), usable(ex2, yj)
                if not keep1.any() and not keep2.any():
                    continue
                xj = m.x[f["rows"], j]
                dec_j = [m.decision(f, s, q, xj) for q in range(Q)]
                nulls = [[m.decision(f, s, q, xj, r) for q in range(Q)] for r in range(P)]
                if keep1.any():
                    v, _ = masked(np.stack([argmax_except(d, ex1, kin) for d in dec_s]), f["y"], keep1)
                    a1, _ = masked(np.stack([argmax_except(d, ex1, kin) for d in dec_j]), f["y"], keep1)
                    n1 = [masked(np.stack([argmax_except(d, ex1, kin) for d in dj]), f["y"], keep1)[0]
                          for dj in nulls]
                    h1.append(a1), h1c.append(np.mean(n1)), val.append(v)
                # H2 in the test only where s < N (no memory echo possible).
                if keep2.any() and s < n_back:
                    a2, _ = masked(np.stack([argmax_except(d, ex2, kin) for d in dec_j]), yj, keep2)
                    n2 = [masked(np.stack([argmax_except(d, ex2, kin) for d in dj]), yj, keep2)[0]
                          for dj in nulls]
                    h2.append(a2), h2c.append(np.mean(n2))
        # Procrustes swaps: source cell (s, t), t + 2 < T, next stimulus s + 1.

        def differ_at(fam, frame):
            """The lag rule: frame - s a positive multiple of N."""
            return frame > fam["s"] and (frame - fam["s"]) % n_back == 0

        def keep_of(fam, frame, source=None):
            """[Q, n]: the trials each fold scores: held out by fam's fold q;
            under the lag rule, labels at frame and at fam's s that differ; with
            a source family (the elapsed-shifted swap), an image at fam's s
            that the source's fold q never trained on."""
            y_at = m.labels[feature][fam["rows"], frame]
            keep = []
            for q in range(Q):
                k_q = fam["fold"] == q
                if differ_at(fam, frame):
                    k_q = k_q & (kin[y_at] != kin[fam["y"]])
                if source is not None:
                    k_q = k_q & ~np.isin(fam["images"], m.trained_images(source, q))
                keep.append(k_q)
            return np.stack(keep)

        def predict(fam, frame, d):
            """Predictions from decision values d [n, K] under the rule at frame."""
            if differ_at(fam, frame):
                return argmax_except(d, m.labels[feature][fam["rows"], frame], kin)
            return d.argmax(1)

        target_cache = {}

        def target(fam, frame, source=None):
            """The target decoder at its own cell on the trials the swap scores
            (keep_of), and its empirical chance (mean, 95th percentile): the
            permuted fits against their permuted labels, or under the lag rule
            their argmax over the other classes against the true labels."""
            key = (fam["s"], frame, source is not None)
            if key not in target_cache:
                x = m.x[fam["rows"], frame]
                keep = keep_of(fam, frame, source)
                fit, _ = masked(np.stack([predict(fam, frame, m.decision(fam, frame, q, x)) for q in range(Q)]),
                                fam["y"], keep)
                null = [masked(np.stack([predict(fam, frame, m.decision(fam, frame, q, x, r)) for q in range(Q)]),
                               fam["y"] if differ_at(fam, frame) else fam["null_y"][r], keep)[0] for r in range(P)]
                target_cache[key] = (fit, float(np.mean(null)), quantile(null, 0.95))
            return target_cache[key]

        def swap_predictions(fam, frame, q, w_std):
            """Fold q's predictions on every trial of fam of normals w_std
            (centred, unit norm), put in the place of fam's decoder at frame:
            de-standardised with the target normals' mean and norm, the
            target's intercept and scaler mean."""
            W, _, mean, _, icpt = m.fit(fam, frame, q)
            _, tmean, tnorm = centred_unit(W)
            w = w_std * tnorm + tmean
            x = m.x[fam["rows"], frame]
            return predict(fam, frame, (x - mean) @ w.T + icpt)

        for s in range(T - 2):
            f = m.family(k, feature, s)
            nxt = m.family(k, feature, s + 1)
            for t in range(s, T - 2):
                pairs += 1
                modes = [(m.a.rotation, swaps)] + [("random", d) for d in spread]
                preds = [([], []) for _ in modes]
                for q in range(Q):
                    src = centred_unit(m.fit(f, t, q)[0])[0]
                    tgt = centred_unit(m.fit(f, t + 1, q)[0])[0]
                    nxt_w = centred_unit(m.fit(nxt, t + 1, q)[0])[0]
                    for (mode, _), (es, ts) in zip(modes, preds):
                        rot = Rotation(src, tgt, mode, rng)
                        ts.append(swap_predictions(f, t + 2, q, rot.apply(tgt)))
                        es.append(swap_predictions(nxt, t + 2, q, rot.apply(nxt_w)))
                # Each swap on its own trials, with its own target there.
                cells = [(nxt, t + 2, f), (f, t + 2, None)]
                targets = [target(fam, frame, source) for fam, frame, source in cells]
                if not all(np.isfinite(fit) and fit > p95 and fit > null for fit, null, p95 in targets):
                    continue
                for (_, out), (es, ts) in zip(modes, preds):
                    acc = [masked(np.stack(v), fam["y"], keep_of(fam, frame, source))[0]
                           for v, (fam, frame, source) in zip((es, ts), cells)]
                    rel = [(a_ - null) / (fit - null) for a_, (fit, null, _) in zip(acc, targets)]
                    out.append(rel[0] - rel[1])
        # The declared swap (README "The centroid swap"): rotations fitted
        # on the stimulus's class centroids, fitted jointly with the other
        # stimuli's codes on fold q's training trials; held-out states less
        # the target's offsets, classified by the nearest predicted centroid,
        # beside the target's own centroids and their permuted-label null.
        def others_of(fam, frame):
            cols = [j for j in range(frame + 1) if j != fam["s"]]
            return m.labels[feature][fam["rows"]][:, cols] if cols else None

        def codes(fam, frame, q, y_sets):
            return joint_codes(m.x[fam["rows"], frame], y_sets, others_of(fam, frame), fam["fold"] != q, K)

        def centroid_scores(fam, frame, source, *predicted):
            """([swap accuracy of each predicted set], target accuracy,
            null mean, null 95th percentile): each set of predicted
            centroids (per fold, [K, H]) scored at the target cell (fam at
            frame) on the trials keep_of scores, all against one fit of the
            target's codes and their permuted-label null."""
            x = m.x[fam["rows"], frame]
            excl = m.labels[feature][fam["rows"], frame] if differ_at(fam, frame) else None
            keep = keep_of(fam, frame, source)
            swap_p, own_p, null_p = [[] for _ in predicted], [], [[] for _ in range(P)]
            for q in range(Q):
                c, off, pres = codes(fam, frame, q, np.concatenate([fam["y"][None], fam["null_y"]]))
                if not pres[0].all():
                    return None
                for i, p in enumerate(predicted):
                    swap_p[i].append(nearest(x, p[q], off[0], np.ones(K, bool), excl, kin))
                own_p.append(nearest(x, c[0], off[0], pres[0], excl, kin))
                for r in range(P):
                    null_p[r].append(nearest(x, c[1 + r], off[1 + r], pres[1 + r], excl, kin))
            acc = [masked(np.stack(s_), fam["y"], keep)[0] for s_ in swap_p]
            fit = masked(np.stack(own_p), fam["y"], keep)[0]
            null = [masked(np.stack(null_p[r]), fam["y"] if excl is not None else fam["null_y"][r], keep)[0]
                    for r in range(P)]
            return acc, fit, float(np.mean(null)), quantile(null, 0.95)

        for s in range(T - 2):
            f = m.family(k, feature, s)
            nxt = m.family(k, feature, s + 1)
            # Both swaps on one cell (analyze version 10): the elapsed-shifted
            # swap of R(s, t) onto (s+1, t+2) beside the next stimulus's own
            # time-shifted swap, R(s+1, t) on its centroids at t+1, scored on
            # the same trials of (s+1, t+2); s+1 is shown at t from t = s+1.
            for t in range(s + 1, T - 2):
                centroid_pairs += 1
                es, ts, es0 = [], [], []
                complete = True
                for q in range(Q):
                    src, tgt, nx0, nx = (codes(fam, fr, q, fam["y"][None])
                                         for fam, fr in ((f, t), (f, t + 1), (nxt, t), (nxt, t + 1)))
                    complete = complete and all(c[2][0].all() for c in (src, tgt, nx0, nx))
                    rot = Rotation(src[0][0], tgt[0][0], "closest")
                    own = Rotation(nx0[0][0], nx[0][0], "closest")
                    ts.append(own.apply(nx[0][0]))
                    es.append(rot.apply(nx[0][0]))
                    es0.append(nx[0][0] * rot.scale)  # the no-rotation control (R = I)
                if not complete:
                    continue
                # The two swaps and the no-rotation control share the target
                # cell, its trials and its fit: one call scores all three.
                scored = centroid_scores(nxt, t + 2, f, es, ts, es0)
                if scored is None:
                    continue
                acc, fit, null, p95 = scored
                if not (fit > p95 and fit > null):
                    continue
                rel_es, rel_ts, rel_0 = ((a_ - null) / (fit - null) for a_ in acc)
                centroid_swaps.append(rel_es - rel_ts)
                rotations.append(rel_es - rel_0)
    mid = np.mean(h1c) + 0.5 * (np.mean(val) - np.mean(h1c))
    return {"H1 - halfway": float(np.mean(h1) - mid), "H2 - chance": float(np.mean(h2) - np.mean(h2c)),
            "swap": float(np.mean(centroid_swaps)) if centroid_swaps else np.nan,
            "swap pairs used": len(centroid_swaps), "swap pairs excluded": centroid_pairs - len(centroid_swaps),
            "rotation - no rotation": float(np.mean(rotations)) if rotations else np.nan,
            "decoder-weight swap": float(np.mean(swaps)) if swaps else np.nan,
            "decoder-weight swap pairs used": len(swaps),
            "swap, random completions": [float(np.mean(d)) for d in spread if d]}


# ---- the tables' per-model numbers, as findings.cpp derives them ----
def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def ours_finding2(tables, name):
    rows = [r for r in read_csv(os.path.join(tables, "cross_task.csv")) if r["model"] == name]
    first = min(float(r["stim_frame"]) for r in rows)
    p95 = {(r["feature"], r["train_task"], float(r["stim_frame"])): float(r["chance_p95"])
           for r in rows if r["kind"] == "validation"}
    g = gc = v = vc = 0.0
    n = 0
    for r in rows:
        if r["kind"] != "generalisation" or float(r["stim_frame"]) != first:
            continue
        if not float(r["validation"]) > p95[(r["feature"], r["train_task"], float(r["stim_frame"]))]:
            continue
        g += float(r["accuracy"])
        gc += float(r["chance_empirical"])
        v += float(r["validation"])
        vc += float(r["validation_chance"])
        n += 1
    return {"normalised generalisation": (g - gc) / (v - vc) if n else np.nan, "cells used": n}


def ours_finding4(tables, name):
    h1, h1c, h2, h2c, val = [], [], [], [], []
    for r in read_csv(os.path.join(tables, "temporal_hypotheses.csv")):
        if r["model"] != name or r["relevance"] != "relevant" or not np.isfinite(float(r["accuracy"])):
            continue
        if r["hypothesis"] == "H1_slot":
            h1.append(float(r["accuracy"])), h1c.append(float(r["chance_empirical"])), val.append(float(r["validation"]))
        elif float(r["stim_frame"]) < int(r["task"].split("-")[1]):  # H2: s < N only
            h2.append(float(r["accuracy"])), h2c.append(float(r["chance_empirical"]))
    def usable_pairs(table, partner):
        """Per source cell, each swap's score relative to its target (NaN
        where the target is not above chance), for the cells whose
        elapsed-shifted swap and its partner are both usable."""
        cell = {}
        for r in read_csv(os.path.join(tables, table)):
            if r["model"] != name or r["relevance"] != "relevant":
                continue
            key = (r["task"], r["feature"], float(r["source_stim"]), float(r["source_frame"]))
            cell.setdefault(key, {})[r["test"]] = float(r["relative"]) if float(r["target_above_chance"]) > 0 else np.nan
        return [c for c in cell.values() if "elapsed_shifted" in c and partner in c
                and np.isfinite(c["elapsed_shifted"]) and np.isfinite(c[partner])]

    def swaps_of(table, partner):
        return [c["elapsed_shifted"] - c[partner] for c in usable_pairs(table, partner)]

    def rotation_controls(table, partner):
        # Over the swap contrast's pairs: with the fitted rotation - with none.
        return [c["elapsed_shifted"] - c.get("elapsed_shifted_no_rotation", np.nan)
                for c in usable_pairs(table, partner)]
    swaps = swaps_of("procrustes_centroids.csv", "time_shifted_same_cell")
    rotations = rotation_controls("procrustes_centroids.csv", "time_shifted_same_cell")
    weights = swaps_of("procrustes.csv", "time_shifted")
    mid = np.mean(h1c) + 0.5 * (np.mean(val) - np.mean(h1c))
    return {"H1 - halfway": float(np.mean(h1) - mid), "H2 - chance": float(np.mean(h2) - np.mean(h2c)),
            "swap": float(np.mean(swaps)) if swaps else np.nan, "swap pairs used": len(swaps),
            "rotation - no rotation": float(np.mean(rotations)) if rotations else np.nan,
            "decoder-weight swap": float(np.mean(weights)) if weights else np.nan,
            "decoder-weight swap pairs used": len(weights)}


def model_name(folder, names):
    base = os.path.basename(os.path.normpath(folder))
    for n in names:
        if re.sub(r"[^A-Za-z0-9]", "_", n) == base:
            return n
    sys.exit(f"recompute_findings.py: no model of the tables matches the folder {base} (use --model)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tables")
    ap.add_argument("states", nargs="+")
    ap.add_argument("--model", help="the tables' name of the model (one STATES_DIR only)")
    ap.add_argument("--findings", default="2,4")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--permutations", type=int, default=None,
                    help="label permutations per family (default: the tables' with --null-rule wmgeom, else 5)")
    ap.add_argument("--null-rule", choices=["wmgeom", "numpy"], default="wmgeom",
                    help="the permutations' draw: wmgeom's documented rule (the same draw as the tables) or numpy's")
    ap.add_argument("--fold-rule", choices=["wmgeom", "sklearn"], default="wmgeom")
    ap.add_argument("--svm-tol", type=float, default=1e-2)
    ap.add_argument("--svm-max-iter", type=int, default=1000)
    ap.add_argument("--rotation", choices=["closest", "lapack", "random"], default="closest",
                    help="the Procrustes rotation's completion outside the row space of the source normals")
    ap.add_argument("--completions", type=int, default=0,
                    help="also report the swap test under this many random completions (its spread)")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--tolerance", type=float, default=0.03)
    ap.add_argument("--no-swap-check", action="store_true",
                    help="--check leaves the swap test out (with --null-rule numpy its null is another draw; README)")
    ap.add_argument("--json", help="write the per-model numbers here")
    a = ap.parse_args()
    which = set(a.findings.split(","))
    names = sorted({r["model"] for r in read_csv(os.path.join(a.tables, "cross_task.csv" if "2" in which
                                                              else "temporal_hypotheses.csv"))})
    if a.permutations is None:
        a.permutations = 5
        if a.null_rule == "wmgeom":
            counts = [float(r["permutations"]) for name in ("temporal_hypotheses.csv", "cross_task.csv")
                      if os.path.exists(os.path.join(a.tables, name))
                      for r in read_csv(os.path.join(a.tables, name)) if r.get("permutations")]
            if counts:
                a.permutations = int(max(counts))
    if a.model and len(a.states) != 1:
        sys.exit("recompute_findings.py: --model names one STATES_DIR")
    # Each model's states key (the analysis' params, `source`), which seeds
    # its own permutations; a model analysed from memory has none (its name).
    # The key is in the analysis' meta.json, which a run writes into its
    # tables/ folder and `wmgeom export` of the analyze or findings instance
    # beside the tables: without it the draws cannot be the tables' own, so
    # --null-rule wmgeom refuses rather than draw others silently.
    draw_ids = {}
    meta_path = os.path.join(a.tables, "meta.json")
    if os.path.exists(meta_path):
        for entry in json.load(open(meta_path))["meta"].get("params", {}).get("models", []):
            draw_ids[entry["name"]] = entry.get("source", entry["name"])
    elif a.null_rule == "wmgeom":
        sys.stderr.write(
            f"recompute_findings.py: {meta_path}: not found. --null-rule wmgeom draws each model's "
            "permutations from its states key (analyze version 13), which the analysis' meta.json "
            "carries: pass a run's tables/ folder (written since 2026-12-06) or the folder of "
            "`wmgeom export PIPELINE <findings or analyze instance> DIR` as TABLES_DIR, or "
            "--null-rule numpy for draws of its own\n")
        sys.exit(2)
    results, worst, worst_at = [], 0.0, None
    print(f"{'model':34s} {'quantity':28s} {'wmgeom':>9s} {'sklearn':>9s} {'|diff|':>7s}")
    for folder in a.states:
        name = a.model or model_name(folder, names)
        if a.null_rule == "wmgeom" and name not in draw_ids:
            sys.stderr.write(f"recompute_findings.py: {meta_path}: model {name!r} is not among the "
                             f"analysis' models ({', '.join(sorted(draw_ids))})\n")
            sys.exit(2)
        m = Model(folder, a, draw_ids.get(name, name))
        start = time.process_time()
        compared = []
        if "2" in which:
            ours, theirs = ours_finding2(a.tables, name), finding2(m)
            compared.append(("finding 2: normalised gen.", ours["normalised generalisation"],
                             theirs["normalised generalisation"]))
        if "4" in which:
            ours, theirs = ours_finding4(a.tables, name), finding4(m)
            for q in ("H1 - halfway", "H2 - chance", "swap", "rotation - no rotation", "decoder-weight swap"):
                compared.append((f"finding 4: {q}", ours[q], theirs[q]))
            for q in ("swap pairs used", "decoder-weight swap pairs used"):
                compared.append((f"finding 4: {q}", ours[q], theirs[q]))
            if theirs["swap, random completions"]:
                v = theirs["swap, random completions"]
                print(f"{name:34s} swap under {len(v)} random completions: min {min(v):.4f} max {max(v):.4f} "
                      f"(wmgeom {ours['swap']:.4f})", flush=True)
                results.append({"model": name, "quantity": "finding 4: swap, random completions", "sklearn": v})
        for what, o, t in compared:
            d = abs(o - t)
            print(f"{name:34s} {what:28s} {o:9.4f} {t:9.4f} {d:7.4f}", flush=True)
            if "pairs" in what or (a.no_swap_check and what.endswith(("swap", "no rotation"))):
                pass
            elif not d <= worst:
                worst, worst_at = d, (name, what)
            results.append({"model": name, "quantity": what, "wmgeom": o, "sklearn": t, "diff": d})
        print(f"  ({m.nfits} scikit-learn fits, {time.process_time() - start:.0f} s CPU)", flush=True)
    print(f"worst |wmgeom - scikit-learn| = {worst:.4f} at {worst_at}")
    if a.json:
        json.dump({"args": vars(a), "rows": results, "worst": worst}, open(a.json, "w"), indent=1)
    if a.check and not worst <= a.tolerance:
        sys.exit(f"recompute_findings.py: {worst_at} differs by {worst:.4f} > {a.tolerance}")


if __name__ == "__main__":
    main()
