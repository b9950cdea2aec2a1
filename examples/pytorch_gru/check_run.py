#!/usr/bin/env python3
"""Checks a run of examples/pytorch_gru/run.sh: OUT (its out/ folder) holds
findings-verdicts.json with findings 1-4 decided (a verdict other than "not
testable": "held", "not held", or finding 3's "depends on sample size" when its
robustness checks disagree in sign; each with its test, n, p and alpha)
across the imported models' seeds, finding 5 "not testable" (no trained
models to rerun), findings-distances.json with the compare stage's test
decided and its twelve-model distance table,
findings-neural.json with the recordings stage's closest model the planted
one (make_recordings.py: the first multi-task GRU) and its test decided, and
report.html showing the four findings, the distances and the recordings. Exit 1 naming what
is wrong."""
import json
import pathlib
import sys


def main(out):
    out = pathlib.Path(out)
    problems = []
    findings = json.loads((out / "findings-verdicts.json").read_text())
    for k in ["1", "2", "3", "4"]:
        f = findings.get(k, {})
        if not isinstance(f.get("verdict"), str) or f.get("verdict") == "not testable":
            problems.append(f"finding {k}: verdict {f.get('verdict')!r}, expected decided "
                            f"({f.get('detail', '')[:200]})")
        for key in ("test", "n", "p", "alpha"):
            if f.get(key) is None:
                problems.append(f"finding {k}: no {key!r}")
    if findings.get("5", {}).get("verdict") != "not testable":
        problems.append("finding 5 (causal): expected 'not testable' without trained models")
    run = json.loads((out / "run.json").read_text())
    imports = [s for s in run["stages"] if s.get("type") == "import" and s.get("cache") in ("hit", "miss")]
    if len(imports) != 12:
        problems.append(f"run.json: {len(imports)} imported state sets, expected 12")
    models = json.loads((out / "findings-distances.json").read_text()).get("models", {})
    if models.get("verdict") not in ("held", "not held") or models.get("n") != 12:
        problems.append(f"findings-distances.json: the model test is {models.get('verdict')!r} "
                        f"on {models.get('n')} models ({models.get('detail', '')[:200]})")
    pairs = out / "tables-distances" / "model_pairs.csv"
    if not pairs.exists() or len(pairs.read_text().splitlines()) < 2:
        problems.append(f"{pairs}: missing or empty")
    neural = json.loads((out / "findings-neural.json").read_text()).get("recordings", {})
    if not str(neural.get("closest")).endswith("states/gru/seed0]"):
        problems.append(f"findings-neural.json: the closest model is {neural.get('closest')!r}, "
                        "expected the planted gru[path=.../states/gru/seed0]")
    if neural.get("verdict") not in ("held", "not held") or neural.get("n") != 40:
        problems.append(f"findings-neural.json: the test is {neural.get('verdict')!r} on "
                        f"{neural.get('n')} conditions ({neural.get('detail', '')[:200]})")
    html = (out / "report.html").read_text()
    if 'id="recordings"' not in html or "noise ceiling" not in html:
        problems.append("report.html: no drawn section of the recordings")
    if 'id="models"' not in html or "MDS embedding" not in html:
        problems.append("report.html: no drawn section of model distances")
    for k in ["1", "2", "3", "4"]:
        if f"Finding {k}" not in html:
            problems.append(f"report.html: no 'Finding {k}'")
    for p in problems:
        print(f"check_run.py: {p}", file=sys.stderr)
    if not problems:
        verdicts = ", ".join(f"{k}: {findings[k]['verdict']}" for k in ["1", "2", "3", "4"])
        print(f"check_run.py: findings decided across the seeds ({verdicts}); configurations "
              f"differ more than seeds: {models['verdict']} (p = {models['p']:.4g}); closest to the "
              f"recordings: {neural['closest']} ({neural['verdict']}, p = {neural['p']:.4g})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
