#!/usr/bin/env python3
"""Runs the calibration tests of the findings and writes calibration.json.

Each calibration test (stages/analyze/test_calibration*.cpp, suite Calibration)
prints one line per scenario run:

  [ calibration ] finding F scenario NAME kind KIND scale S seeds R: held in k of n
  draws (rate r, Clopper-Pearson 95% lo-hi); <outcome counts>

(`passed in` instead of `held in` for a sub-test: finding "4-H1", "4-swap").
This script runs every selected test at `--draws` draws; a test whose line
says `kind power` is run again at each of `--scales` (the power curve: the
planted effect times 0, 0.25, 0.5, 1, 2; env WMGEOM_CALIBRATION_SCALE), the
nulls once. It writes, per finding, per scenario run: name, kind (power,
null, adversarial-null), scale, seeds per replicate group, draws, the count, rate, the Clopper-Pearson
95% bounds, what was counted, and the git commit (plus whether
stages/analyze or src had uncommitted changes, the table itself aside) it
was measured at. Entries of
scenarios not selected by --only are kept from the existing file, and so are a
selected scenario's entries at scales not run now.

The analyze library embeds the committed calibration.json at build time
(CMakeLists.txt beside this file); the findings stage attaches it to each finding
in findings.json (`calibration`) and keys its SHA-256.

Usage:
  nice -n 15 /usr/bin/python3 stages/analyze/calibrate.py [--draws 100]
      [--only REGEX] [--build DIR] [--scales 0,0.25,0.5,1,2] [--out FILE]

Standard library only.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The test executables of suite Calibration (stages/analyze/CMakeLists.txt).
CALIBRATION_BINARIES = ["test_calibration", "test_calibration_geometry", "test_calibration_causal"]

LINE = re.compile(
    r"\[ calibration \] finding (?P<finding>\S+) scenario (?P<name>\S+) kind (?P<kind>\S+) scale (?P<scale>\S+)"
    r"(?: seeds (?P<seeds>\d+))?: "
    r"(?P<what>held|passed) in (?P<k>\d+) of (?P<n>\d+) draws \(rate (?P<rate>[0-9.]+), "
    r"Clopper-Pearson 95% (?P<lo>[0-9.]+)-(?P<hi>[0-9.]+)\);(?P<rest>.*)$")


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def list_tests(binary):
    out = subprocess.run([binary, "--gtest_list_tests", "--gtest_filter=Calibration.*",
                          "--gtest_also_run_disabled_tests"], capture_output=True, text=True, check=True).stdout
    names = []
    for line in out.splitlines():
        if line.startswith(" ") and line.strip():
            names.append(line.strip().split()[0])
    return names


def run_test(binary, test, draws, scale):
    env = dict(os.environ, WMGEOM_CALIBRATION_DRAWS=str(draws), WMGEOM_CALIBRATION_SCALE=repr(scale))
    env.pop("WMGEOM_CALIBRATION_EFFECTS", None)
    start = time.time()
    proc = subprocess.run([binary, "--gtest_filter=Calibration." + test, "--gtest_also_run_disabled_tests"],
                          capture_output=True, text=True, env=env, check=False)
    seconds = time.time() - start
    found = []
    for line in proc.stdout.splitlines():
        m = LINE.search(line)
        if m:
            found.append(m)
    if not found:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"calibrate.py: {test} printed no '[ calibration ]' line (exit {proc.returncode})")
    return found, proc.returncode, seconds


def entry(m, draws_asked, rc, seconds, commit, dirty):
    finding = m["finding"]
    base, _, sub = finding.partition("-")
    k, n = int(m["k"]), int(m["n"])
    outcomes = {}
    words = m["rest"].split()
    # "held 3 not held 97": a count ends each outcome's words.
    label = []
    for w in words:
        if w.isdigit():
            outcomes[" ".join(label)] = int(w)
            label = []
        else:
            label.append(w)
    return base, {
        "scenario": m["name"].removeprefix("DISABLED_"),
        "test": "Calibration." + m["name"],
        "kind": m["kind"],
        "scale": float(m["scale"]),
        "seeds_per_group": int(m["seeds"]) if m["seeds"] else None,
        "counted": ("verdict held" if m["what"] == "held" else f"sub-test {sub} passed"),
        "draws": n,
        "count": k,
        "rate": k / n,
        "ci95": [float(m["lo"]), float(m["hi"])],
        "outcomes": outcomes,
        "test_passed": rc == 0,
        "seconds": round(seconds, 1),
        "commit": commit,
        "uncommitted_changes": dirty,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--only", default="^Finding[1-5]", help="regex on the test names (without 'Calibration.')")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--scales", default="0,0.25,0.5,1,2")
    ap.add_argument("--out", default=os.path.join(HERE, "calibration.json"))
    args = ap.parse_args()
    binaries = [os.path.join(args.build, "stages", "analyze", name) for name in CALIBRATION_BINARIES]
    for binary in binaries:
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"calibrate.py: no test binary {binary} "
                             f"(scripts/build {os.path.basename(binary)}, or --build DIR)")
    scales = [float(s) for s in args.scales.split(",")]
    commit = git("rev-parse", "HEAD")
    # The table this script writes is not code it measures: a run after
    # another (that rewrote the table) is still at a clean commit.
    table_path = os.path.relpath(os.path.abspath(args.out), ROOT)
    dirty = bool(git("status", "--porcelain", "--", "stages/analyze", "src", f":(exclude){table_path}"))
    only = re.compile(args.only)
    tests = [(binary, t) for binary in binaries for t in list_tests(binary)
             if only.search(t.removeprefix("DISABLED_"))]
    if not tests:
        raise SystemExit(f"calibrate.py: no calibration test matches {args.only!r}")

    table = {"findings": {}}
    if os.path.exists(args.out):
        with open(args.out) as f:
            table = json.load(f)
    findings = table.setdefault("findings", {})
    fresh = {}
    for binary, test in tests:
        first_scale = 1.0 if 1.0 in scales else scales[0]
        found, rc, sec = run_test(binary, test, args.draws, first_scale)
        runs = [(m, rc, sec) for m in found]
        if any(m["kind"] == "power" for m in found):
            for s in scales:
                if s == first_scale:
                    continue
                more, rc2, sec2 = run_test(binary, test, args.draws, s)
                runs += [(m, rc2, sec2) for m in more]
        for m, code, seconds in runs:
            base, e = entry(m, args.draws, code, seconds, commit, dirty)
            fresh.setdefault(base, []).append(e)
            print(f"finding {m['finding']:7} {e['scenario']:58} {e['kind']:16} x{e['scale']:<5g} "
                  f"{e['count']:3d} of {e['draws']} ({e['rate']:.2f}, CP 95% {e['ci95'][0]:.3f}-{e['ci95'][1]:.3f}) "
                  f"{e['seconds']} s", flush=True)
    for base, entries in fresh.items():
        # An entry is replaced by a fresh one of the same scenario and scale:
        # a run at --scales 1 keeps the power curve's other points (each
        # entry records its own draws and commit).
        runs_now = {(e["scenario"], e["scale"]) for e in entries}
        kept = [e for e in findings.get(base, []) if (e["scenario"], e["scale"]) not in runs_now]
        merged = kept + entries
        merged.sort(key=lambda e: (e["kind"] != "power", e["scenario"], e["scale"]))
        findings[base] = merged
    table["findings"] = dict(sorted(findings.items()))
    table["about"] = ("Calibration of the findings' declared tests on planted truth (stages/analyze/test_calibration*.cpp, "
                      "suite Calibration), written by stages/analyze/calibrate.py. Per finding, per scenario run: "
                      "kind (power: the planted effect times `scale`, 1 = sized from the study's measured effect; "
                      "null: the same structure without the effect; adversarial-null: a model built to fool the "
                      "test), the count of draws in which the verdict was held (or a sub-test passed), its rate and "
                      "Clopper-Pearson 95% interval, and the commit the code was measured at.")
    table["updated"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(args.out, "w") as f:
        json.dump(table, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
