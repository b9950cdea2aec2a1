#!/usr/bin/python3
"""scikit-learn reference for the orthogonalisation index (SCIENCE.md 4.3),
written independently of wmgeom's code: used by test_orthogonality.cpp and by
compare_analyze.py --check.

The paper's pipeline, step by step:
  StandardScaler (prep "standardize"; "raw" skips it) -> PCA(dims) ->
  one LinearSVC(C) per class, class k against the rest, on the PC scores as
  they are -> unit normals -> O = mean over class pairs of 1 - |cos|.

Usage: ortho_reference.py DIR
  reads DIR/x.npy [n, d] (float64), DIR/ys.npy [L, n] (label sets: the true
  labels, then shuffles), DIR/params.json {"dims": int, "c": float,
  "prep": "standardize" | "raw"}; writes DIR/indices.npy [L].
"""
import json
import sys
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def index_of(normals):
    """Mean over pairs of class normals of 1 - |cos|."""
    u = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    cos = np.abs(u @ u.T)
    i, j = np.triu_indices(len(u), 1)
    return float(np.mean(1.0 - cos[i, j]))


def pc_scores(x, dims, prep):
    x = np.asarray(x, dtype=np.float64)
    if prep == "standardize":
        x = StandardScaler().fit_transform(x)
    elif prep != "raw":
        raise ValueError(f"prep must be standardize or raw, not {prep}")
    return PCA(n_components=dims, svd_solver="full").fit_transform(x)


def indices(x, ys, dims, prep, c=1.0):
    """The index of each label set in ys on the states x [n, d]: normals of the
    classes present in the first label set (the shuffles keep its classes)."""
    z = pc_scores(x, dims, prep)
    classes = np.unique(ys[0])
    out = []
    for y in ys:
        normals = []
        for k in classes:
            svm = LinearSVC(C=c, tol=1e-8, max_iter=200000).fit(z, (y == k).astype(int))
            normals.append(svm.coef_[0])
        out.append(index_of(np.array(normals)))
    return np.array(out)


def main():
    d = sys.argv[1]
    x, ys = np.load(f"{d}/x.npy"), np.load(f"{d}/ys.npy")
    p = json.load(open(f"{d}/params.json"))
    np.save(f"{d}/indices.npy", indices(x, ys, int(p["dims"]), p["prep"], float(p.get("c", 1.0))))


if __name__ == "__main__":
    main()
