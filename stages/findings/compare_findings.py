#!/usr/bin/env python3
"""Tables of several runs' findings side by side (markdown).

Usage: compare_findings.py LABEL=FINDINGS_JSON [LABEL=FINDINGS_JSON ...]
                           [--tests REGEX] [--supporting] [--json OUT]

Each FINDINGS_JSON is a findings.json a run wrote (or findings-<stage>.json
when a run has several findings stages), e.g. one per level of a factor of
pipelines/sensitivity.toml. Printed:
 1. one row per run: each finding's verdict, its declared effect with the
    one-sided 95% bound and p (the numbers the verdict was decided on);
 2. one row per (finding, test) whose name matches --tests (default: the
    per-group tests of findings 2, 3 and 5 and finding 4's declared swap;
    supporting tests, those whose `deciding` is false, only with
    --supporting), one column per run:
    effect [bound], p.
Nothing is recomputed: the numbers are the files' own. A file that is not a
findings.json (no finding "1".."5" with a verdict) is refused with exit 2.
"""
import argparse
import json
import math
import re
import sys


def decides(test):
    """Whether a test decides its finding's verdict: its `deciding` flag
    (findings version 6 on); older findings' tests lack it, and there the
    name of every supporting test says "(supporting"."""
    if isinstance(test.get("deciding"), bool):
        return test["deciding"]
    return "(supporting" not in test["name"]


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:+.{digits}f}" if abs(x) < 100 else f"{x:+.1f}"


def fmt_p(p):
    if p is None:
        return "-"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def bound(ci):
    # One-sided tests carry [lower, null] or [null, upper]: the finite side.
    if not isinstance(ci, list) or len(ci) != 2:
        return None
    return ci[0] if ci[0] is not None else ci[1]


def cell(entry):
    return f"{fmt(entry.get('effect'))} [{fmt(bound(entry.get('ci')))}], p {fmt_p(entry.get('p'))}"


def short(name):
    # "GRU, multi-task MTMF (loc-1, ...): H1 below halfway" -> "GRU, multi-task: H1 below halfway"
    return re.sub(r" (MTMF|STSF) \([^)]*\)", "", name)


def load(arg):
    if "=" not in arg:
        sys.stderr.write(f"compare_findings.py: {arg}: expected LABEL=FINDINGS_JSON\n")
        sys.exit(2)
    label, path = arg.split("=", 1)
    try:
        doc = json.load(open(path))
    except (OSError, ValueError) as e:
        sys.stderr.write(f"compare_findings.py: {path}: {e}\n")
        sys.exit(2)
    if not isinstance(doc, dict) or not any(isinstance(doc.get(k), dict) and "verdict" in doc[k]
                                            for k in "12345"):
        sys.stderr.write(f"compare_findings.py: {path}: not a findings.json (no finding 1-5 "
                         "with a verdict)\n")
        sys.exit(2)
    return label, doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--tests", default=r"^(2|3|5):|^4:.*same-elapsed-time swap")
    ap.add_argument("--supporting", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    runs = [load(r) for r in a.runs]
    keys = [k for k in "12345" if any(k in doc for _, doc in runs)]

    print("| run | " + " | ".join(f"finding {k}" for k in keys) + " |")
    print("| --- |" + " --- |" * len(keys))
    for label, doc in runs:
        cells = []
        for k in keys:
            f = doc.get(k)
            cells.append("-" if f is None else f"{f['verdict']}: {cell(f)}")
        print(f"| {label} | " + " | ".join(cells) + " |")

    rows, table = [], {}
    pattern = re.compile(a.tests)
    for label, doc in runs:
        for k in keys:
            for t in doc.get(k, {}).get("tests", []):
                name = f"{k}: {short(t['name'])}"
                if not pattern.search(name) or (not decides(t) and not a.supporting):
                    continue
                if name not in table:
                    rows.append(name)
                    table[name] = {}
                table[name][label] = t
    if rows:
        print()
        print("| test | " + " | ".join(label for label, _ in runs) + " |")
        print("| --- |" + " --- |" * len(runs))
        for name in rows:
            print(f"| {name} | " + " | ".join(
                cell(table[name][label]) if label in table[name] else "-"
                for label, _ in runs) + " |")
    if a.json:
        out = {label: {k: {"verdict": doc[k]["verdict"], "effect": doc[k].get("effect"),
                           "bound": bound(doc[k].get("ci")), "p": doc[k].get("p")}
                       for k in keys if k in doc} for label, doc in runs}
        out["tests"] = {name: {label: {"effect": t.get("effect"), "bound": bound(t.get("ci")),
                                       "p": t.get("p")} for label, t in table[name].items()}
                        for name in rows}
        json.dump(out, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
