#!/usr/bin/python3
"""A straightforward PyTorch-Python training loop of the train stage's model
vs wmgeom, on the same machine.

Usage: stages/train/compare_train.py build/stages/train/bench_train [ROUNDS]
The Python loop is what a researcher writes: gather the feature map of every
frame of every trial (batch x T maps), 1x1 conv, flatten, concat the cue,
Linear + LayerNorm, nn.GRU, Linear; cross-entropy on every frame; AdamW
(PyTorch's default multi-tensor implementation). Medians of alternating
rounds, because this machine's speed drifts between runs.
"""
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGES, T, TASKS = 384, 6, 9


class Model(nn.Module):
    def __init__(self, rnn, hidden, shape=(128, 7, 7)):
        super().__init__()
        c, h, w = shape
        conv = hidden  # the stage's default (the paper's): conv to the RNN size
        self.conv = nn.Conv2d(c, conv, 1)
        self.linear = nn.Linear(conv * h * w + TASKS, hidden)
        self.norm = nn.LayerNorm(hidden)
        cell = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[rnn]
        self.rnn = cell(hidden, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, 3)

    def forward(self, bank, stim, cue):
        b = stim.shape[0]
        maps = self.conv(bank[stim.flatten()]).flatten(1).view(b, T, -1)
        x = torch.cat([maps, cue.unsqueeze(1).expand(b, T, TASKS)], 2)
        h, _ = self.rnn(self.norm(self.linear(x)))
        return self.readout(h)


def trials_per_s(rnn, hidden, batch, threads, min_time=2.0):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = Model(rnn, hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    bank = torch.relu(torch.randn(IMAGES, 128, 7, 7))
    stim = torch.randint(0, IMAGES, (batch, T))
    target = torch.randint(0, 3, (batch, T))
    cue = torch.eye(TASKS)[torch.arange(batch) % TASKS]

    def step():
        loss = F.cross_entropy(model(bank, stim, cue).reshape(-1, 3), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def main():
    bench = sys.argv[1] if len(sys.argv) > 1 else "build/stages/train/bench_train"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    configs = [(rnn, hidden, threads, f"BM_TrainStep/{rnn}{hidden}/256/{threads}/real_time")
               for rnn, hidden in (("gru", 256), ("gru", 64), ("rnn", 512), ("lstm", 256))
               for threads in (2, 1)]
    cpp, py, gflops, mm = {}, {}, {}, {}
    for _ in range(rounds):
        out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_min_time=2",
                              "--benchmark_filter=BM_TrainStep|BM_MatmulRate"],
                             check=True, capture_output=True, text=True).stdout
        for b in json.loads(out)["benchmarks"]:
            if b["name"].startswith("BM_MatmulRate"):
                mm.setdefault(b["name"], []).append(b["GFLOPs"])
            else:
                cpp.setdefault(b["name"], []).append(b["items_per_second"])
                gflops.setdefault(b["name"], []).append(b["GFLOPs"])
        for rnn, hidden, threads, key in configs:
            py.setdefault(key, []).append(trials_per_s(rnn, hidden, 256, threads))
    med = statistics.median
    print(f"torch {torch.__version__}; trials/s, batch 256, T = {T}, 9 tasks; median of {rounds} rounds")
    print(f"{'model':<12}{'threads':>8}{'wmgeom':>10}{'Python':>10}{'ratio':>8}{'GFLOP/s':>10}{'of mm':>8}")
    for rnn, hidden, threads, key in configs:
        rate = med(mm[f"BM_MatmulRate/1024/{threads}/real_time"])
        c, p, g = med(cpp[key]), med(py[key]), med(gflops[key])
        print(f"{rnn + str(hidden):<12}{threads:>8}{c:>10.0f}{p:>10.0f}{c / p:>8.2f}{g:>10.1f}{g / rate:>8.0%}")
    for threads in (2, 1):
        print(f"float32 matmul 1024^3, {threads} thread(s): {med(mm[f'BM_MatmulRate/1024/{threads}/real_time']):.1f} GFLOP/s")


if __name__ == "__main__":
    main()
