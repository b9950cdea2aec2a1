#!/usr/bin/python3
"""scikit-learn reference for test_linear.cpp: the same decoders, same folds.

Usage: sklearn_reference.py DIR   (reads x.npy [P,n,d], y.npy [P,n], folds.npy [n];
writes logistic.npy and svm.npy: held-out accuracy [P, k])
"""
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

d = sys.argv[1]
x, y, folds = np.load(f"{d}/x.npy"), np.load(f"{d}/y.npy"), np.load(f"{d}/folds.npy")
k = folds.max() + 1
for name, make in [("logistic", lambda: LogisticRegression(C=1.0, max_iter=10000, tol=1e-8)),
                   ("svm", lambda: LinearSVC(C=1.0, max_iter=200000, tol=1e-8))]:
    acc = np.zeros((x.shape[0], k))
    for p in range(x.shape[0]):
        for f in range(k):
            tr, te = folds != f, folds == f
            scaler = StandardScaler().fit(x[p][tr])
            model = make().fit(scaler.transform(x[p][tr]), y[p][tr])
            acc[p, f] = (model.predict(scaler.transform(x[p][te])) == y[p][te]).mean()
    np.save(f"{d}/{name}.npy", acc)
