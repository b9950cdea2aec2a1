#!/usr/bin/python3
"""The features stage's built-in CNN in Python PyTorch vs wmgeom (LibTorch C++).

Usage: stages/features/compare_features.py build/stages/features/bench_features
Alternates the C++ benchmark (JSON output) and the same network, batch sizes
and thread counts in Python (Debian's python3-torch) for ROUNDS rounds (this
machine's speed drifts by 10-30% between runs, so one run each proves
nothing), and prints the medians and their ratio (C++ / Python throughput).
"""
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.down_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = self.down_bn(self.down(x)) if self.down is not None else x
        return F.relu(y + skip)


class Cnn(nn.Module):
    """Same as src/nets/cnn.h: width 32, 3 stages, 112 px."""

    def __init__(self, width=32, blocks=3, size=112):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, 2, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for b in range(blocks):
            layers.append(Block(cin, width << b, 2))
            cin = width << b
        self.stages = nn.Sequential(*layers)
        side = size
        for _ in range(blocks + 1):
            side = (side + 1) // 2
        self.cat = nn.Linear(cin, 4)
        self.id = nn.Linear(cin, 8)
        self.loc = nn.Linear(cin * side * side, 4)

    def features(self, x):
        return self.stages(F.relu(self.stem_bn(self.stem(x))))

    def heads(self, f):
        p = f.mean((2, 3))
        return self.cat(p), self.id(p), self.loc(f.flatten(1))


def rate(fn, items, min_time=1.0):
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return n * items / (time.perf_counter() - t0)


def python_rates(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = Cnn()
    net.eval()
    x = torch.randn(64, 3, 112, 112)
    with torch.no_grad():
        infer = rate(lambda: net.features(x), 64)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    xb = torch.randn(32, 3, 112, 112)
    yc, yi, yl = torch.randint(0, 4, (32,)), torch.randint(0, 8, (32,)), torch.randint(0, 4, (32,))

    def step():
        c, i, l = net.heads(net.features(xb))
        loss = F.cross_entropy(c, yc) + F.cross_entropy(i, yi) + F.cross_entropy(l, yl)
        opt.zero_grad()
        loss.backward()
        opt.step()

    train = rate(step, 32)
    return infer, train


def main():
    bench = sys.argv[1] if len(sys.argv) > 1 else "build/stages/features/bench_features"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    cpp, py = {}, {}
    for _ in range(rounds):
        out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_min_time=1"],
                             check=True, capture_output=True, text=True).stdout
        for b in json.loads(out)["benchmarks"]:
            cpp.setdefault(b["name"], []).append(b["items_per_second"])
        for threads in (2, 1):
            infer, train = python_rates(threads)
            py.setdefault(("infer", threads), []).append(infer)
            py.setdefault(("train", threads), []).append(train)
    print(f"torch {torch.__version__}, same machine, images/s (higher is better), "
          f"median of {rounds} alternating rounds")
    print(f"{'benchmark':<34}{'threads':>8}{'C++':>12}{'Python':>12}{'C++/Py':>9}")
    for threads in (2, 1):
        rows = [("inference, batch 64", f"BM_FeaturesInference/64/{threads}/real_time", ("infer", threads)),
                ("training step, batch 32", f"BM_FeaturesTrainStep/32/{threads}/real_time", ("train", threads))]
        for label, key, pkey in rows:
            c, p = statistics.median(cpp[key]), statistics.median(py[pkey])
            print(f"{label:<34}{threads:>8}{c:>12.1f}{p:>12.1f}{c / p:>9.2f}")


if __name__ == "__main__":
    main()
