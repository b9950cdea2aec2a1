#!/usr/bin/env python3
"""Train PyTorch RNNs on wmgeom's N-back tasks and write their hidden states as StateSets.

    wmgeom export PIPELINE tasks TRIALS      # a TrialSet:   meta.json + *.npy
    wmgeom export PIPELINE cnn FEATURES      # a FeatureBank: meta.json + features.npy
    python3 examples/pytorch_gru/train_gru.py --trials TRIALS --features FEATURES \\
        --out OUT --seeds 0 1 2 [--rnn gru|rnn] [--tasks loc-2 ...] [--perceptual] \\
        [--hidden 128] [--embed 128] [--steps 2500] [--batch 64] [--lr 3e-3] [--threads 1]

The models are trained outside wmgeom (numpy + torch only, no wmgeom code) and their states
go back in through the `import` stage (stages/import/README.md), so that wmgeom's analyses
run on RNNs it did not train. Per seed: standardised, flattened CNN feature map -> Linear ->
ReLU -> LayerNorm (without it the nine tasks stall near chance), concatenated with a one-hot
task cue -> torch.nn.GRU or torch.nn.RNN (tanh) -> Linear readout to 3 classes (0 no action,
1 non-match, 2 match). Training: Adam (cosine decay to 5% of --lr) + cross-entropy over every
frame, on trials sampled afresh each step from the training-split stimuli
(stimulus_split == 0) by the N-back rule of src/nback/sampler.h (our own numpy sampler, not
its random streams): frame t < N is drawn uniformly (target 0); at t >= N a coin with
probability match_prob draws a stimulus sharing the task feature of frame t - N (target 2),
otherwise one that differs (target 1); for identity tasks a share hard_nonmatch of the
non-matches has the same category as frame t - N. --tasks trains on a subset (a single task:
the single-task controls of finding 1). The TrialSet's fixed evaluation trials of those tasks
(both splits) are then run, and each seed is written atomically (OUT/seed<k>.tmp renamed to
OUT/seed<k>) in the StateSet layout of `wmgeom export`, for M trials of T frames:

    OUT/seed<k>/meta.json   {"kind": "StateSet", "meta": {"model": {"rnn": "gru"|"rnn",
                            "framework": "pytorch", "tasks": [...], "seed": k, "hidden": H,
                            "embed": E, "steps": S, "lr": LR,
                            "group": "pytorch-<rnn>-h<H>-<MTMF|STSF>-<tasks>"}},
                            "arrays": {name: {"dtype", "shape", "file"}}}
    hidden.npy   float32 [M, T, H]   the RNN's state after each frame
    logits.npy   float32 [M, T, 3]
    targets.npy, stimulus.npy, location.npy, category.npy, identity.npy, view.npy
                 int32 [M, T]        the TrialSet's targets and each frame's stimulus attributes
    task.npy, split.npy   int32 [M]  index into meta.model.tasks; the TrialSet's split
    perceptual.npy  float32 [M, T, D]  (--perceptual) each frame's feature map, as exported

meta.model.rnn uses wmgeom's names ("rnn" is the vanilla RNN), so the findings that compare
architectures recognise them; meta.model.group names the configuration, so the seeds of one
configuration are its replicates. Per-task accuracy on frames t >= N goes to stderr. Same seed
and --threads: same bytes. A missing or malformed export folder is an error naming the file
or key (exit status 2).
"""
import argparse
import json
import pathlib
import shutil
import sys
import time

import numpy as np
import torch

FEATURES = {"loc": 0, "cat": 1, "id": 2}  # rows of the attribute table; id nests in cat
ATTRIBUTES = ["location", "category", "identity", "view"]


class ExportError(Exception):
    pass


def load_export(folder, kind, names):
    """(metadata, {name: array}) of a `wmgeom export` folder holding the arrays `names`."""
    meta_path = pathlib.Path(folder) / "meta.json"
    try:
        doc = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise ExportError(f"{meta_path}: not found (expected a `wmgeom export` folder)")
    except (OSError, ValueError) as e:
        raise ExportError(f"{meta_path}: not readable JSON ({e})")
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        found = doc.get("kind") if isinstance(doc, dict) else None
        raise ExportError(f"{meta_path}: kind is {found!r}, expected {kind!r}")
    listed, arrays = doc.get("arrays"), {}
    if not isinstance(listed, dict) or not isinstance(doc.get("meta"), dict):
        raise ExportError(f"{meta_path}: missing object 'arrays' or 'meta'")
    for name in names:
        info = listed.get(name)
        if not isinstance(info, dict) or "file" not in info:
            raise ExportError(f"{meta_path}: no array '{name}' in 'arrays'")
        path = meta_path.parent / str(info["file"])
        try:
            a = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ExportError(f"{path}: cannot read array '{name}' ({e})")
        if str(a.dtype) != info.get("dtype") or list(a.shape) != info.get("shape"):
            raise ExportError(f"{path}: {a.dtype}{list(a.shape)}, meta.json says "
                              f"{info.get('dtype')}{info.get('shape')}")
        arrays[name] = a
    return doc["meta"], arrays


def load_inputs(trials_dir, features_dir):
    names = ["stimuli", "targets", "task", "split"]
    names += [f"stimulus_{a}" for a in ATTRIBUTES + ["split"]]
    meta, ts = load_export(trials_dir, "TrialSet", names)
    _, fb = load_export(features_dir, "FeatureBank", ["features"])
    where = pathlib.Path(trials_dir) / "meta.json"
    try:
        tasks = [(t["name"], FEATURES[t["feature"]], int(t["n"])) for t in meta["tasks"]]
        length, match_prob = int(meta["trial_length"]), float(meta["match_prob"])
        hard = float(meta.get("hard_nonmatch", 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise ExportError(f"{where}: malformed meta 'tasks'/'trial_length'/'match_prob' ({e!r})")
    n_stim, (m, t) = len(ts["stimulus_split"]), ts["stimuli"].shape
    if not tasks or t != length or ts["targets"].shape != (m, t) or ts["task"].shape != (m,):
        raise ExportError(f"{where}: arrays disagree with tasks/trial_length {length}")
    if fb["features"].shape[0] != n_stim:
        raise ExportError(f"{pathlib.Path(features_dir) / 'features.npy'}: "
                          f"{fb['features'].shape[0]} rows, the TrialSet has {n_stim} stimuli")
    lowest = min(ts[k].min() for k in ["stimuli", "task"] + [f"stimulus_{a}" for a in ATTRIBUTES])
    if lowest < 0 or ts["stimuli"].max() >= n_stim or ts["task"].max() >= len(tasks):
        raise ExportError(f"{where}: a stimulus, task or attribute index out of range")
    return tasks, length, match_prob, hard, ts, fb["features"].reshape(n_stim, -1)


def select_tasks(tasks, ts, names, trials_dir):
    """The tasks `names` (in that order) and the evaluation trials of those tasks, renumbered."""
    known = [t[0] for t in tasks]
    missing = [n for n in names if n not in known]
    if missing or len(set(names)) != len(names):
        raise ExportError(f"--tasks {' '.join(names)}: each once, from the TrialSet's tasks "
                          f"{', '.join(known)} ({pathlib.Path(trials_dir) / 'meta.json'})")
    old = [known.index(n) for n in names]
    keep = np.isin(ts["task"], old)
    renumber = np.full(len(tasks), -1)
    renumber[old] = np.arange(len(old))
    ts = dict(ts)
    for k in ["stimuli", "targets", "split"]:
        ts[k] = ts[k][keep]
    ts["task"] = renumber[ts["task"][keep]]
    return [tasks[i] for i in old], ts


class Sampler:
    """Training trials drawn from one split, vectorised over a batch (sampler.cpp's rule)."""

    def __init__(self, attrs, split_of, split, tasks, length, match_prob, hard):
        self.attrs, self.tasks, self.length = attrs, tasks, length  # attrs: [3, N] loc, cat, id
        self.match_prob, self.hard = match_prob, hard
        self.rows = np.flatnonzero(split_of == split)
        vals = attrs[:, self.rows]
        width = attrs.max() + 1
        # rows sorted by each feature: value v owns order[f, begin[f, v] : + count[f, v]]
        self.order = np.stack([self.rows[np.argsort(v, kind="stable")] for v in vals])
        self.count = np.stack([np.bincount(v, minlength=width) for v in vals])
        self.begin = np.cumsum(self.count, axis=1) - self.count
        # identities nested in categories: rows sorted by (category, identity)
        self.nested = self.rows[np.lexsort((vals[2], vals[1]))]
        self.parent = np.zeros(width, dtype=np.int64)
        self.parent[attrs[2]] = attrs[1]
        self.vbegin = np.zeros(width, dtype=np.int64)
        ids, first = np.unique(attrs[2, self.nested], return_index=True)
        self.vbegin[ids] = first
        for name, f, _ in tasks:
            if (self.count[f] > 0).sum() < 2:
                raise ExportError(f"{name}: a single value in split {split}, no non-match possible")
        if len(set(zip(attrs[2], attrs[1]))) != len(np.unique(attrs[2])):
            raise ExportError("stimulus_identity: an identity appears under two categories")

    def batch(self, rng, task):
        """stimuli, targets int64 [B, T] for the trials' task indices `task` [B]."""
        feat = np.array([self.tasks[k][1] for k in task])
        n = np.array([self.tasks[k][2] for k in task])
        b, rows, idx = len(task), len(self.rows), np.arange(len(task))
        stim = np.empty((b, self.length), dtype=np.int64)
        targets = np.zeros((b, self.length), dtype=np.int64)
        for t in range(self.length):
            later = t >= n
            stim[:, t] = self.rows[rng.integers(0, rows, b)]
            prev = stim[idx, np.maximum(t - n, 0)]
            v = self.attrs[feat, prev]
            count, begin = self.count[feat, v], self.begin[feat, v]
            match = rng.random(b) < self.match_prob
            pick = begin + rng.integers(0, np.maximum(count, 1))
            k = rng.integers(0, rows - count)  # every row but v's: skip v's range
            pick = np.where(match, pick, k + count * (k >= begin))
            chosen = self.order[feat, pick]
            p = self.parent[v]
            pbegin, pcount = self.begin[1, p], self.count[1, p]
            hard = (~match & (feat == 2) & (rng.random(b) < self.hard) & (pcount > count))
            k = rng.integers(0, np.maximum(pcount - count, 1))  # same category, other identity
            k += count * (k >= self.vbegin[v] - pbegin)
            chosen = np.where(hard, self.nested[np.minimum(pbegin + k, rows - 1)], chosen)
            stim[:, t] = np.where(later, chosen, stim[:, t])
            same = self.attrs[feat, stim[:, t]] == v
            targets[:, t] = np.where(later, np.where(same, 2, 1), 0)
        return stim, targets


class Model(torch.nn.Module):
    def __init__(self, rnn, inputs, tasks, embed, hidden):
        super().__init__()
        self.embed = torch.nn.Linear(inputs, embed)
        self.norm = torch.nn.LayerNorm(embed)
        kind = torch.nn.GRU if rnn == "gru" else torch.nn.RNN  # RNN: tanh
        self.gru = kind(embed + tasks, hidden, batch_first=True)
        self.readout = torch.nn.Linear(hidden, 3)
        self.tasks = tasks

    def forward(self, x, task):  # x [B, T, D], task [B] -> hidden [B, T, H], logits [B, T, 3]
        cue = torch.nn.functional.one_hot(task, self.tasks).float()
        cue = cue[:, None, :].expand(-1, x.shape[1], -1)
        hidden, _ = self.gru(torch.cat([self.norm(torch.relu(self.embed(x))), cue], dim=2))
        return hidden, self.readout(hidden)


def train_one(seed, args, tasks, sampler, x):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Model(args.rnn, x.shape[1], len(tasks), args.embed, args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.steps, 1), args.lr * 0.05)
    for step in range(args.steps):
        task = (np.arange(args.batch) + step) % len(tasks)  # balanced across tasks
        stim, targets = sampler.batch(rng, task)
        _, logits = model(x[torch.from_numpy(stim)], torch.from_numpy(task))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 3),
                                                 torch.from_numpy(targets).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    return model


def write_stateset(out, seed, arrays, model_meta):
    """OUT/seed<k>/ written as OUT/seed<k>.tmp, then renamed: never half-written."""
    final, tmp, old = (out / f"seed{seed}{s}" for s in ("", ".tmp", ".old"))
    for d in (tmp, old):
        shutil.rmtree(d, ignore_errors=True)
    tmp.mkdir(parents=True)
    listing = {}
    for name, a in arrays.items():
        np.save(tmp / f"{name}.npy", a)
        listing[name] = {"dtype": str(a.dtype), "shape": list(a.shape), "file": f"{name}.npy"}
    doc = {"kind": "StateSet", "meta": {"model": model_meta}, "arrays": listing}
    (tmp / "meta.json").write_text(json.dumps(doc, indent=2) + "\n")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", required=True, help="`wmgeom export ... tasks DIR` folder")
    ap.add_argument("--features", required=True, help="`wmgeom export ... cnn DIR` folder")
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--rnn", choices=["gru", "rnn"], default="gru",
                    help="torch.nn.GRU or torch.nn.RNN (tanh); meta.model.rnn, as wmgeom names them")
    ap.add_argument("--tasks", nargs="+", metavar="TASK",
                    help="train and evaluate on these tasks of the TrialSet only (e.g. loc-2: "
                         "single-task controls); default: all of them")
    ap.add_argument("--perceptual", action="store_true",
                    help="also write perceptual.npy: each frame's feature map, flattened, before "
                         "standardisation (the perceptual space of the orthogonality analysis)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--embed", type=int, default=128, help="width of the Linear-ReLU input layer")
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam; cosine decay to 5%% of it")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if min(args.hidden, args.embed, args.batch, args.threads) < 1 or min(args.seeds) < 0 \
            or args.steps < 0:
        ap.error("--hidden, --embed, --batch and --threads must be >= 1, --steps and --seeds >= 0")
    torch.set_num_threads(args.threads)
    try:
        tasks, length, match_prob, hard, ts, feats = load_inputs(args.trials, args.features)
        if args.tasks:
            tasks, ts = select_tasks(tasks, ts, args.tasks, args.trials)
        attrs = np.stack([ts[f"stimulus_{a}"] for a in ATTRIBUTES[:3]]).astype(np.int64)
        sampler = Sampler(attrs, ts["stimulus_split"], 0, tasks, length, match_prob, hard)
    except ExportError as e:
        print(f"train_gru.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    train = feats[sampler.rows].astype(np.float64)
    std = train.std(axis=0)
    x = (feats - train.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)  # constant units: centred
    x = torch.from_numpy(x.astype(np.float32))
    stimuli = ts["stimuli"].astype(np.int64)
    cue = torch.from_numpy(ts["task"].astype(np.int64))
    n = np.array([tasks[k][2] for k in ts["task"]])
    scored = np.arange(length)[None, :] >= n[:, None]  # frames t >= N
    for seed in args.seeds:
        start = time.perf_counter()
        model = train_one(seed, args, tasks, sampler, x)
        with torch.no_grad():
            hidden, logits = model.eval()(x[torch.from_numpy(stimuli)], cue)
        correct = logits.argmax(dim=2).numpy() == ts["targets"]
        arrays = {"hidden": hidden.numpy().astype(np.float32),
                  "logits": logits.numpy().astype(np.float32),
                  "targets": ts["targets"].astype(np.int32),
                  "stimulus": ts["stimuli"].astype(np.int32)}
        for a in ATTRIBUTES:
            arrays[a] = ts[f"stimulus_{a}"][ts["stimuli"]].astype(np.int32)
        arrays["task"] = ts["task"].astype(np.int32)
        arrays["split"] = ts["split"].astype(np.int32)
        if args.perceptual:
            arrays["perceptual"] = feats[ts["stimuli"]].astype(np.float32)
        names = [t[0] for t in tasks]
        regime = "STSF" if len(names) == 1 else "MTMF"
        meta = {"rnn": args.rnn, "framework": "pytorch", "tasks": names, "seed": seed,
                "hidden": args.hidden, "embed": args.embed, "steps": args.steps, "lr": args.lr,
                "group": f"pytorch-{args.rnn}-h{args.hidden}-{regime}-" + "+".join(names)}
        folder = write_stateset(args.out, seed, arrays, meta)
        print(f"seed {seed}: {args.steps} steps in {time.perf_counter() - start:.1f} s -> {folder}",
              file=sys.stderr)
        for split in np.unique(ts["split"]):
            row = []
            for k, (name, _, _) in enumerate(tasks):
                sel = (ts["task"] == k) & (ts["split"] == split)
                row.append(f"{name} {correct[sel][scored[sel]].mean():.3f}" if sel.any() else "")
            print(f"  split {split} accuracy (t >= N): " + "  ".join(filter(None, row)),
                  file=sys.stderr)


if __name__ == "__main__":
    main()
