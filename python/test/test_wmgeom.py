#!/usr/bin/env python3
"""The Python module's tests (ctest python.*; python/README.md).

Needs PYTHONPATH=build/python, WMGEOM_CLI (the wmgeom executable: the
reference every result is compared with), WMGEOM_CACHE (a cache where
ci_quickstart.py has run the quickstart at test size) and WMGEOM_TEST_WORK
(a scratch folder).
"""
import csv
import json
import logging
import math
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import wmgeom
from wmgeom import _wmgeom

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
QUICKSTART = ROOT / "pipelines" / "quickstart.toml"
CLI = os.environ.get("WMGEOM_CLI", str(ROOT / "build" / "app" / "wmgeom"))
CACHE = os.environ.get("WMGEOM_CACHE", str(ROOT / "build" / "python" / "cache"))
WORK = pathlib.Path(os.environ.get("WMGEOM_TEST_WORK", tempfile.mkdtemp(prefix="wmgeom-py-")))
TINY = {k: v for k, v in json.loads((HERE / "tiny_quickstart.json").read_text()).items() if k != "//"}


def cli_sets(overrides):
    out = []
    for k, v in overrides.items():
        out += ["--set", f"{k}={json.dumps(v) if not isinstance(v, bool) else str(v).lower()}"]
    return out


def cli(*args, check=True):
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}:\n{r.stderr}")
    return r


def write(path, text):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class Validate(unittest.TestCase):
    def test_the_plan_of_a_valid_pipeline(self):
        instances = wmgeom.validate(QUICKSTART, set=TINY)
        names = [i["name"] for i in instances]
        # The same instances, in the same order, as `wmgeom validate` lists.
        listed = [
            line.split()[0]
            for line in cli("validate", str(QUICKSTART), *cli_sets(TINY)).stdout.splitlines()[1:]
        ]
        self.assertEqual(names, listed)
        by = {i["name"]: i for i in instances}
        self.assertEqual(by["verdicts"]["type"], "findings")
        self.assertEqual(by["gated_states[rnn=gru]"]["kind"], "StateSet")
        self.assertIn("gated[rnn=gru]", by["gated_states[rnn=gru]"]["inputs"])
        self.assertEqual(len(by["cnn"]["key"]), len(by["tasks"]["key"]))

    def test_problems_carry_file_line_key_and_the_cli_message(self):
        bad = write(
            WORK / "bad.toml",
            '[pipeline]\nname = "bad"\n[stage.stimuli]\ntype = "render"\nviews = "twelve"\n'
            "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\ninput_sise = 64\n",
        )
        with self.assertRaises(wmgeom.ValidationError) as ctx:
            wmgeom.validate(bad)
        e = ctx.exception
        self.assertIsInstance(e, ValueError)
        self.assertEqual(len(e.problems), 2, str(e))
        views, typo = sorted(e.problems, key=lambda p: p.line)
        self.assertEqual((views.file, views.line, views.key), (str(bad), 5, "stage.stimuli.views"))
        self.assertEqual((typo.line, typo.key), (9, "stage.cnn.input_sise"))
        self.assertIn("input_size", typo.message)  # the CLI's "did you mean"
        # Each problem is the line `wmgeom validate` prints, and the message is its output.
        r = cli("validate", str(bad), check=False)
        self.assertEqual(r.returncode, 2)
        for p in e.problems:
            self.assertIn(str(p), r.stderr)
        self.assertEqual(str(e).strip(), r.stderr.strip().replace("; nothing was run", ""))

    def test_an_override_the_schema_refuses(self):
        with self.assertRaises(wmgeom.ValidationError) as ctx:
            wmgeom.validate(QUICKSTART, set={"stage.gated.hiden": 32})
        self.assertEqual(ctx.exception.problems[0].key, "stage.gated.hiden")
        with self.assertRaises(wmgeom.ValidationError) as ctx:
            wmgeom.validate(QUICKSTART, set=["stage.gated.hidden=-4"])
        self.assertIn("stage.gated.hidden", str(ctx.exception))

    def test_bad_arguments_are_type_and_value_errors(self):
        with self.assertRaises(TypeError):
            wmgeom.validate(42)
        with self.assertRaises(TypeError):
            wmgeom.validate(QUICKSTART, set={"stage.gated.hidden": object()})
        with self.assertRaises(TypeError):
            wmgeom.validate(QUICKSTART, set="stage.gated.hidden=3")
        with self.assertRaises(TypeError):
            wmgeom.run(QUICKSTART, only=[3], dry_run=True)
        with self.assertRaises(TypeError):
            wmgeom.load(QUICKSTART, 7)
        with self.assertRaises(ValueError) as ctx:
            wmgeom.run(QUICKSTART, threads=-1, dry_run=True)
        self.assertEqual(str(ctx.exception), cli("run", "--threads", "-1", check=False).stderr.splitlines()[0])
        with self.assertRaises(wmgeom.ValidationError) as ctx:
            wmgeom.validate(WORK / "no-such.toml")
        self.assertIn("no-such.toml", str(ctx.exception))


class Run(unittest.TestCase):
    def test_a_cached_run_and_a_rerun_from_one_stage(self):
        out = WORK / "run-out"
        summary = wmgeom.run(QUICKSTART, set=TINY, cache_dir=CACHE, out=out)
        self.assertIsInstance(summary, wmgeom.RunSummary)
        self.assertEqual(summary.pipeline, "quickstart")
        self.assertEqual(summary.exit_code, 0)
        self.assertEqual(summary.computed(), [], "ci_quickstart.py cached everything")
        self.assertTrue((out / "run.json").exists())
        # The record is run.json's.
        self.assertEqual(
            [s["stage"] for s in json.loads((out / "run.json").read_text())["stages"]],
            [i.instance for i in summary.instances],
        )
        self.assertEqual(summary.instance("verdicts").type, "findings")
        self.assertIn("stimuli", summary.instance("cnn").inputs)
        # --from report: only the report is computed; its lines reach `logging`.
        with self.assertLogs("wmgeom", level="INFO") as logs:
            again = wmgeom.run(QUICKSTART, set=TINY, cache_dir=CACHE, out=out, from_="report")
        self.assertEqual(again.computed(), ["report"])
        text = "\n".join(logs.output)
        self.assertIn("report: done in", text)
        self.assertIn("(report)", text)  # the progress line "[1/1] report (report)"
        self.assertTrue((out / "report.html").exists())

    def test_dry_run_plans_and_runs_nothing(self):
        s = wmgeom.run(QUICKSTART, set=dict(TINY, **{"stage.gated.steps": 201}), cache_dir=CACHE,
                       dry_run=True)
        by = {i.instance: i.cache for i in s.instances}
        self.assertEqual(by["cnn"], "hit")
        self.assertEqual(by["gated[rnn=gru]"], "miss")
        # run plans as validate does: the same problems, nothing run.
        with self.assertRaises(wmgeom.ValidationError) as ctx:
            wmgeom.run(QUICKSTART, set={"stage.gated.hiden": 1}, cache_dir=CACHE, out=WORK / "bad-out")
        self.assertEqual([p.key for p in ctx.exception.problems], ["stage.gated.hiden"])
        self.assertFalse((WORK / "bad-out" / "run.json").exists())

    def test_a_failing_stage_is_a_run_error_naming_it(self):
        # States whose hidden array holds a NaN: the headers pass the plan's
        # checks, the import stage finds it when it reads the values (run time).
        src = WORK / "states-src"
        shutil.rmtree(src, ignore_errors=True)
        cli("export", str(QUICKSTART), "vanilla_states", str(src), "--cache-dir", CACHE, "-q",
            *cli_sets(TINY))
        hidden = np.load(src / "hidden.npy")
        hidden[3, 2, 1] = np.nan
        np.save(src / "hidden.npy", hidden)
        p = write(
            WORK / "import.toml",
            f'[pipeline]\nname = "imp"\n[stage.theirs]\ntype = "import"\npath = "{src}"\n',
        )
        with self.assertRaises(wmgeom.RunError) as ctx:
            wmgeom.run(p, cache_dir=WORK / "import-cache", out=WORK / "import-out")
        e = ctx.exception
        self.assertEqual(e.stage, "theirs")
        self.assertIsNotNone(e.summary)
        self.assertEqual(e.summary.instance("theirs").cache, "failed")
        self.assertIn("hidden.npy", str(e))
        r = cli("run", str(p), "--cache-dir", str(WORK / "import-cache2"), "--out",
                str(WORK / "import-out2"), "--no-progress", check=False)
        self.assertNotEqual(r.returncode, 0)
        errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
        self.assertEqual(["error: " + str(e)], errors)

    def test_keyboard_interrupt_stops_the_run_cleanly(self):
        # Training that would take minutes (a new key: 100000 steps, no stop
        # bar), interrupted once it has started: KeyboardInterrupt within
        # seconds, the checkpoint saved, the stages before it kept.
        long = dict(TINY, **{"stage.vanilla.steps": 100000, "stage.vanilla.stop_at_accuracy": 1.0,
                             "stage.vanilla.stop_at_heldout": 1.0, "stage.vanilla.lr": 0.0004})
        started = threading.Event()

        class Watch(logging.Handler):
            def emit(self, record):
                if "vanilla (train)" in record.getMessage():
                    started.set()

        watch = Watch()
        logging.getLogger("wmgeom").addHandler(watch)
        logging.getLogger("wmgeom").setLevel(logging.INFO)

        def interrupt():
            if started.wait(120):
                time.sleep(1.0)
                os.kill(os.getpid(), signal.SIGINT)

        t = threading.Thread(target=interrupt, daemon=True)
        t.start()
        t0 = time.monotonic()
        try:
            with self.assertRaises(KeyboardInterrupt):
                wmgeom.run(QUICKSTART, set=long, cache_dir=CACHE, out=WORK / "interrupt-out",
                           only="vanilla")
        finally:
            logging.getLogger("wmgeom").removeHandler(watch)
        self.assertTrue(started.is_set())
        self.assertLess(time.monotonic() - t0, 100)
        log = (WORK / "interrupt-out" / "wmgeom.log").read_text()
        self.assertIn("stopped", log)
        self.assertIn("checkpoint saved", log)
        s = wmgeom.run(QUICKSTART, set=long, cache_dir=CACHE, dry_run=True, only="vanilla")
        by = {i.instance: i.cache for i in s.instances}
        self.assertEqual(by["cnn"], "hit")
        self.assertEqual(by["vanilla"], "miss")


def exported(stage, folder):
    """`wmgeom export` of a stage: {instance: folder}."""
    shutil.rmtree(folder, ignore_errors=True)
    r = cli("export", str(QUICKSTART), stage, str(folder), "--cache-dir", CACHE, *cli_sets(TINY))
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("exported "):
            name, _, path = line[len("exported "):].partition(" -> ")
            out[name] = pathlib.Path(path)
    return out


class Load(unittest.TestCase):
    def test_every_stage_equals_its_export_array_by_array(self):
        stages = []
        for i in wmgeom.validate(QUICKSTART, set=TINY):
            if i["stage"] not in stages:
                stages.append(i["stage"])
        self.assertGreaterEqual(len(stages), 9)
        compared = 0
        for stage in stages:
            with self.subTest(stage=stage):
                folders = exported(stage, WORK / "export" / stage)
                got = wmgeom.load(QUICKSTART, stage, set=TINY, cache_dir=CACHE)
                arts = got if isinstance(got, dict) else {got.instance: got}
                self.assertEqual(sorted(arts), sorted(folders))
                for name, art in arts.items():
                    meta = json.loads((folders[name] / "meta.json").read_text())
                    self.assertEqual(art.kind, meta["kind"])
                    self.assertEqual(art.meta, meta["meta"])
                    self.assertEqual(sorted(art.arrays), sorted(meta["arrays"]))
                    for a, x in art.arrays.items():
                        y = np.load(folders[name] / meta["arrays"][a]["file"])
                        self.assertEqual(x.dtype, y.dtype, a)
                        self.assertEqual(x.shape, y.shape, a)
                        self.assertEqual(x.tobytes(), y.tobytes(), f"{name} {a}")
                        compared += 1
        self.assertGreater(compared, 40)

    def test_arrays_are_the_engines_buffers_without_a_copy(self):
        r = _wmgeom.load(str(QUICKSTART), cli_sets_list(TINY), "gated_states[rnn=gru]", CACHE, 0, None)
        (art,) = r["artifacts"]
        self.assertGreater(len(art["arrays"]), 5)
        for name, x in art["arrays"].items():
            if x.size == 0:
                continue
            self.assertEqual(x.__array_interface__["data"][0], art["addresses"][name], name)
            self.assertFalse(x.flags.owndata, name)
            self.assertTrue(x.flags.c_contiguous, name)
        # The memory outlives everything but the array.
        hidden = art["arrays"]["hidden"]
        first = float(hidden.reshape(-1)[0])
        del r, art
        import gc

        gc.collect()
        self.assertEqual(float(hidden.reshape(-1)[0]), first)
        hidden += 1  # each load's arrays are its own, writeable
        again = wmgeom.load(QUICKSTART, "gated_states[rnn=gru]", set=TINY, cache_dir=CACHE)
        self.assertEqual(float(again["hidden"].reshape(-1)[0]), first)

    def test_a_swept_stage_gives_every_instance_and_an_unknown_name_says_so(self):
        got = wmgeom.load(QUICKSTART, "gated_states", set=TINY, cache_dir=CACHE)
        self.assertEqual(sorted(got), ["gated_states[rnn=gru]", "gated_states[rnn=lstm]"])
        self.assertEqual(got["gated_states[rnn=lstm]"].meta["model"]["rnn"], "lstm")
        with self.assertRaises(ValueError) as ctx:
            wmgeom.load(QUICKSTART, "gated_state", set=TINY, cache_dir=CACHE)
        self.assertIn('did you mean "gated_states"', str(ctx.exception))

    def test_load_computes_what_is_missing_as_export_does(self):
        cache = WORK / "fresh-cache"
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(CACHE, cache)
        changed = dict(TINY, **{"stage.tasks.seed": 11})
        a = wmgeom.load(QUICKSTART, "tasks", set=changed, cache_dir=cache)
        r = cli("export", str(QUICKSTART), "tasks", str(WORK / "tasks-export"), "--force",
                "--cache-dir", str(cache), *cli_sets(changed))
        meta = json.loads((WORK / "tasks-export" / "meta.json").read_text())
        for k, info in meta["arrays"].items():
            self.assertEqual(a[k].tobytes(), np.load(WORK / "tasks-export" / info["file"]).tobytes())
        self.assertEqual(r.returncode, 0)


def cli_sets_list(overrides):
    s = cli_sets(overrides)
    return [s[i + 1] for i in range(0, len(s), 2)]


class FindingsTest(unittest.TestCase):
    def test_findings_and_tables_equal_the_cli_outputs(self):
        f = wmgeom.findings(QUICKSTART, set=TINY, cache_dir=CACHE)
        self.assertEqual(f.instance, "verdicts")
        folder = exported("verdicts", WORK / "export-verdicts")["verdicts"]
        self.assertEqual(f.findings, json.loads((folder / "findings.json").read_text()))
        self.assertGreater(len(f.tables), 5)
        import pandas as pd

        for name, df in f.tables.items():
            with self.subTest(table=name):
                self.assertIsInstance(df, pd.DataFrame)
                with open(folder / f"{name}.csv", newline="") as fh:
                    rows = list(csv.DictReader(fh))
                self.assertEqual(len(df), len(rows))
                if rows:
                    self.assertEqual(list(df.columns), list(rows[0]))
                for col in df.columns:
                    for k, row in enumerate(rows):
                        v = df[col].iloc[k]
                        if isinstance(v, str):
                            self.assertEqual(v, row[col])
                        elif math.isnan(v):
                            self.assertIn(row[col].lower(), ("nan", ""))
                        else:
                            self.assertAlmostEqual(v, float(row[col]), delta=1e-9 * max(1, abs(v)))
        verdicts = f.verdicts()
        self.assertTrue(verdicts)
        for v in verdicts.values():
            self.assertIsInstance(v, str)

    def test_without_pandas_tables_are_dicts_of_columns(self):
        saved = sys.modules.get("pandas")
        sys.modules["pandas"] = None  # import pandas raises ImportError
        try:
            f = wmgeom.findings(QUICKSTART, set=TINY, cache_dir=CACHE)
        finally:
            if saved is not None:
                sys.modules["pandas"] = saved
            else:
                del sys.modules["pandas"]
        for name, t in f.tables.items():
            self.assertIsInstance(t, dict, name)
            lengths = {len(c) for c in t.values()}
            self.assertLessEqual(len(lengths), 1, name)

    def test_verdicts_are_findings_jsons_own_words(self):
        # A verdict other than held / not held (finding 3's robustness rule)
        # is kept, never read off `held` (which is false there).
        f = wmgeom.Findings(instance="verdicts", tables={}, arrays={}, findings={
            "1": {"verdict": "held", "held": True},
            "2": {"verdict": "not held", "held": False},
            "3": {"verdict": "depends on sample size", "held": False},
            "4": {"verdict": "not testable", "held": None, "reason": "one seed"},
            "5": {"held": False},  # an older file: `held` only
            "calibration": "not a finding"})
        self.assertEqual(f.verdicts(), {"1": "held", "2": "not held", "3": "depends on sample size",
                                        "4": "not testable: one seed", "5": "not held"})

    def test_tests_say_which_decide_the_verdict(self):
        def test(name, **extra):
            return dict({"name": name, "test": "one-sample t (greater)", "unit": "model (seed)",
                         "n": 3, "effect": 0.2, "ci": [0.1, None], "statistic": 3.0, "df": 2.0,
                         "p": 0.04, "passed": True}, **extra)
        f = wmgeom.Findings(instance="verdicts", tables={}, arrays={}, findings={
            "4": {"held": True, "tests": [
                test("GRU: H1 below halfway", deciding=True),
                # The flag decides, not the name.
                test("GRU: a check", deciding=False),
                # Findings before version 6 have no flag: the name says it.
                test("vanilla RNN: H1 below halfway"),
                test("vanilla RNN: rotation beats the no-rotation control (supporting)")]},
            "2": {"held": None, "tests": []}})

        def column(t, c):
            return list(t[c])
        every = f.tests("4")
        self.assertEqual(column(every, "deciding"), [True, False, True, False])
        self.assertEqual(column(every, "ci_low"), [0.1] * 4)
        self.assertTrue(all(math.isnan(v) for v in column(every, "ci_high")))
        self.assertEqual(column(f.tests("4", deciding=True), "name"),
                         ["GRU: H1 below halfway", "vanilla RNN: H1 below halfway"])
        self.assertEqual(column(f.tests("4", deciding=False), "name"),
                         ["GRU: a check",
                          "vanilla RNN: rotation beats the no-rotation control (supporting)"])
        self.assertEqual(len(column(f.tests("2"), "name")), 0)
        with self.assertRaises(KeyError):
            f.tests("9")
        with self.assertRaises(TypeError):
            f.tests("4", deciding="yes")

    def test_an_analysis_instance_may_be_named(self):
        f = wmgeom.findings(QUICKSTART, stage="geometry[states=vanilla_states]", set=TINY, cache_dir=CACHE)
        self.assertEqual(f.instance, "geometry[states=vanilla_states]")
        self.assertTrue(f.tables)
        with self.assertRaises(ValueError):
            wmgeom.findings(QUICKSTART, stage="cnn", set=TINY, cache_dir=CACHE)


if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    unittest.main(verbosity=2)
