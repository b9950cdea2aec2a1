#!/usr/bin/env python3
"""Writes planted "neural recordings" for the PyTorch example's models.

    make_recordings.py WORK [--model gru/seed0] [--subjects 4] [--noise 1.0]

The recordings are made from one model's states (the planted truth; by
default the first multi-task GRU): its mean state per condition, mixed into
60 channels per subject by a random matrix, plus independent Gaussian noise
of SD `noise` times the signal's SD. Conditions are images at two frames
(20 at frame 2, 20 at frame 5, each shown at that frame by every model of
the run, so that every model has a mean state there). Written to
WORK/recordings in the recordings stage's layout (stages/recordings/README.md):
meta.json, image.npy, frame.npy, responses.npy [subjects, 40, 60]. The
recordings stage should then find the planted model closest."""
import argparse
import json
import pathlib

import numpy as np

MODELS = [f"{arch}/seed{s}" for arch in ("gru", "rnn", "gru_loc2", "rnn_loc2") for s in range(3)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--model", default="gru/seed0")
    p.add_argument("--subjects", type=int, default=4)
    p.add_argument("--noise", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=11)
    a = p.parse_args()
    states = pathlib.Path(a.work) / "states"
    rng = np.random.default_rng(a.seed)
    stimulus = {m: np.load(states / m / "stimulus.npy") for m in MODELS}
    images, frames = [], []
    for frame in (2, 5):
        shown = set.intersection(*(set(np.unique(s[:, frame]).tolist()) for s in stimulus.values()))
        chosen = sorted(rng.choice(sorted(shown), size=20, replace=False).tolist())
        images += chosen
        frames += [frame] * len(chosen)
    hidden = np.load(states / a.model / "hidden.npy").astype(np.float64)
    stim = stimulus[a.model]
    means = np.stack([hidden[stim[:, f] == im, f].mean(axis=0) for im, f in zip(images, frames)])
    signal = means @ rng.standard_normal((means.shape[1], 60))
    scale = signal.std()
    responses = np.stack([
        means @ rng.standard_normal((means.shape[1], 60))
        + a.noise * scale * rng.standard_normal(signal.shape) for _ in range(a.subjects)])
    out = pathlib.Path(a.work) / "recordings"
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "image.npy", np.array(images, dtype=np.int32))
    np.save(out / "frame.npy", np.array(frames, dtype=np.int32))
    np.save(out / "responses.npy", responses)
    meta = {"kind": "Recordings",
            "meta": {"subjects": [f"planted{i}" for i in range(a.subjects)],
                     "source": f"planted: {a.model}'s mean states, mixed and noised "
                               f"(noise SD {a.noise} x signal SD)"}}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(f"make_recordings.py: {len(images)} conditions, {a.subjects} subjects from {a.model}")


if __name__ == "__main__":
    main()
