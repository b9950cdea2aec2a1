"""wmgeom from Python: run pipelines, load any stage's artifact, read findings.

Five lines a user types first (README "From Python")::

    import wmgeom
    wmgeom.validate("pipelines/quickstart.toml")            # raises ValidationError
    summary = wmgeom.run("pipelines/quickstart.toml")        # like `wmgeom run`
    states = wmgeom.load("pipelines/quickstart.toml", "gated_states[rnn=gru]")
    f = wmgeom.findings("pipelines/quickstart.toml")         # verdicts, DataFrames

Everything is the C++ engine (the extension ``wmgeom._wmgeom``): the same
planning, cache, stages, messages and exit codes as the ``wmgeom`` command
line. There is no second reader of the cache here. Arrays are NumPy arrays
over the engine's own buffers (no copy after decompression).

Log lines, progress included ("[3/9] cnn ...", "gated[rnn=gru]: done in
41 s"), go to the ``logging`` logger "wmgeom". Ctrl-C (KeyboardInterrupt, a
notebook's "interrupt") stops a run the way Ctrl-C stops the command line:
finished stages stay cached, training saves its checkpoint, and rerunning
resumes; the call then raises KeyboardInterrupt.

While a call runs, the engine's thread policy holds (BLAS one thread,
LibTorch's default width 1; the engine parallelises with TBB); the policy
the process had before comes back when the call returns.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _wmgeom

__all__ = [
    "Artifact",
    "Findings",
    "InstanceRun",
    "Problem",
    "RunError",
    "RunSummary",
    "ValidationError",
    "WmgeomError",
    "findings",
    "load",
    "plan",
    "run",
    "stage_types",
    "validate",
]

logger = logging.getLogger("wmgeom")

PathLike = Union[str, "os.PathLike[str]"]
Settings = Union[Mapping[str, Any], Sequence[str], None]


class WmgeomError(Exception):
    """Base of the errors this module raises for the engine."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem of a pipeline, as the CLI prints it ("file:line:col: error: key: message")."""

    file: str
    line: int
    column: int
    key: str
    message: str
    text: str

    def __str__(self) -> str:
        return self.text


class ValidationError(WmgeomError, ValueError):
    """The pipeline (or an override) is invalid; nothing was run.

    ``problems`` lists every problem with its file, line, column and key;
    ``str(error)`` is what ``wmgeom validate`` prints.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems: List[Problem] = list(problems)


class RunError(WmgeomError, RuntimeError):
    """A stage failed while running. ``stage`` names it, ``summary`` is the run's record
    (finished stages are cached; the failing one's error is in ``summary``)."""

    def __init__(self, message: str, stage: str = "", summary: Optional["RunSummary"] = None):
        super().__init__(message)
        self.stage = stage
        self.summary = summary


@dataclasses.dataclass(frozen=True)
class InstanceRun:
    """One stage instance of a run (a row of the CLI's table, an entry of run.json)."""

    instance: str
    type: str
    key: str
    cache: str  # "hit", "miss", "skip", "failed", "cancelled"
    seconds: float
    compute_seconds: float
    items: int
    items_unit: str
    bytes: int
    inputs: Tuple[str, ...]
    versions: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """What a run did (the engine's RunSummary; run.json holds the same record)."""

    pipeline: str
    file: str
    seconds: float
    exit_code: int
    instances: Tuple[InstanceRun, ...]
    critical_path: Tuple[str, ...]
    out_dir: str
    record: Dict[str, Any]  # the record as run.json has it
    table: str  # the table the CLI prints

    def instance(self, name: str) -> InstanceRun:
        for i in self.instances:
            if i.instance == name:
                return i
        raise KeyError(f"no instance {name!r} in this run")

    def computed(self) -> List[str]:
        """The instances this run computed (cache misses)."""
        return [i.instance for i in self.instances if i.cache == "miss"]

    def __str__(self) -> str:
        return self.table


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One instance's artifact, as ``wmgeom export`` writes it.

    ``arrays``: NumPy arrays over the engine's buffers (writeable; each call
    of ``load`` gets its own). ``meta``: the metadata (meta.json's "meta").
    ``tables`` and ``findings``: for analysis results (kind
    "AnalysisResult"), each table a pandas DataFrame (a dict of columns
    without pandas), and the findings as dicts.
    """

    instance: str
    kind: str
    meta: Dict[str, Any]
    arrays: Dict[str, Any]
    tables: Dict[str, Any]
    findings: Dict[str, Any]

    def __getitem__(self, name: str):
        return self.arrays[name]


@dataclasses.dataclass(frozen=True)
class Findings:
    """The study's verdicts from a findings (or analyze) stage: ``findings`` as the
    findings.json of the CLI, every table as a DataFrame, and the instance."""

    instance: str
    findings: Dict[str, Any]
    tables: Dict[str, Any]
    arrays: Dict[str, Any]

    def verdicts(self) -> Dict[str, str]:
        """{finding: its verdict as findings.json and the report word it}: "held",
        "not held", another verdict a rule gives (finding 3's "depends on sample
        size" when its robustness checks disagree in sign), or "not testable:
        <reason>". Findings that record only ``held`` (older files): "held", "not
        held" or "not testable"."""
        out = {}
        for name, f in self.findings.items():
            if not isinstance(f, dict) or ("verdict" not in f and "held" not in f):
                continue
            verdict = f.get("verdict")
            if not isinstance(verdict, str):
                held = f.get("held")
                verdict = "held" if held is True else "not held" if held is False else "not testable"
            out[name] = (
                "not testable: " + str(f.get("reason", "")) if verdict == "not testable" else verdict
            )
        return out

    def tests(self, finding: str, deciding: Optional[bool] = None):
        """The tests run for ``finding`` ("1".."5"), one row each, as findings.json
        records them: name, test, unit, n, effect, the one-sided interval's two
        ends (``ci_low``, ``ci_high``; the infinite one NaN), statistic, df, p,
        passed, and ``deciding``: whether the verdict reads the test. Findings
        before version 6 lack the flag: there a test decides unless its name
        says "(supporting". ``deciding=True`` keeps the tests the verdict is
        decided by, ``False`` the supporting ones. A DataFrame with pandas, else
        a dict of columns, like the tables."""
        if finding not in self.findings or not isinstance(self.findings[finding], dict):
            known = ", ".join(sorted(k for k, f in self.findings.items() if isinstance(f, dict)))
            raise KeyError(f"no finding {finding!r} in {self.instance}; its findings: {known}")
        if deciding is not None and not isinstance(deciding, bool):
            raise TypeError(f"deciding must be True, False or None, not {deciding!r}")
        columns = ["name", "test", "unit", "n", "effect", "ci_low", "ci_high", "statistic",
                   "df", "p", "passed", "deciding"]
        data: Dict[str, List[Any]] = {c: [] for c in columns}

        def number(v: Any) -> float:
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan

        for t in self.findings[finding].get("tests", []):
            decides = _decides(t)
            if deciding is not None and decides != deciding:
                continue
            ci = t.get("ci") if isinstance(t.get("ci"), list) and len(t["ci"]) == 2 else [None, None]
            row = {"name": t.get("name"), "test": t.get("test"), "unit": t.get("unit"),
                   "n": t.get("n"), "effect": number(t.get("effect")), "ci_low": number(ci[0]),
                   "ci_high": number(ci[1]), "statistic": number(t.get("statistic")),
                   "df": number(t.get("df")), "p": number(t.get("p")),
                   "passed": bool(t.get("passed")), "deciding": decides}
            for c in columns:
                data[c].append(row[c])
        return _columns({"columns": columns, "data": data})


# ---------------------------------------------------------------- arguments


def _path(pipeline: PathLike, what: str = "pipeline") -> str:
    if isinstance(pipeline, (str, os.PathLike)):
        p = os.fspath(pipeline)
        if isinstance(p, str):
            return p
    raise TypeError(f"{what} must be a path (str or os.PathLike), not {type(pipeline).__name__}")


def _toml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"set[{key!r}]: {value} is not a TOML number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(key, v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(key, v)}" for k, v in value.items()) + " }"
    raise TypeError(
        f"set[{key!r}]: a {type(value).__name__} has no TOML form "
        "(bool, int, float, str, or a list or dict of them)"
    )


def _sets(set: Settings) -> List[str]:
    """--set overrides: {"stage.gated.steps": 300} or ["stage.gated.steps=300"]."""
    if set is None:
        return []
    if isinstance(set, Mapping):
        out = []
        for k, v in set.items():
            if not isinstance(k, str):
                raise TypeError(f"set: keys are 'stage.NAME.KEY' strings, not {type(k).__name__}")
            out.append(f"{k}={_toml_value(k, v)}")
        return out
    if isinstance(set, (str, bytes)):
        raise TypeError("set: a dict {'stage.NAME.KEY': value} or a list of 'KEY=VALUE' strings")
    out = []
    for s in set:
        if not isinstance(s, str):
            raise TypeError(f"set: each override is a 'KEY=VALUE' string, not {type(s).__name__}")
        out.append(s)
    return out


def _names(x: Union[str, Iterable[str], None], what: str) -> List[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    out = list(x)
    for s in out:
        if not isinstance(s, str):
            raise TypeError(f"{what}: stage or instance names (str), not {type(s).__name__}")
    return out


def _threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int, not {type(threads).__name__}")
    if not 0 <= threads <= 4096:
        raise ValueError(f"--threads: Value {threads} not in range 0 to 4096")
    return threads


def _dir(d: Optional[PathLike], what: str) -> str:
    return "" if d is None else _path(d, what)


def _problems(raw) -> List[Problem]:
    return [Problem(*t) for t in raw]


def _log(level: int, message: str) -> None:
    logger.log(level, message)


def _decides(test: Dict[str, Any]) -> bool:
    """Whether a test of findings.json decides its verdict: its ``deciding`` flag
    (findings version 6 on); older files lack it, and there every supporting
    test's name says "(supporting"."""
    flag = test.get("deciding")
    return flag if isinstance(flag, bool) else "(supporting" not in str(test.get("name", ""))


def _columns(table: Dict[str, Any]):
    data = table["data"]
    try:
        import pandas  # noqa: WPS433 (optional)
    except ImportError:
        return dict(data)
    return pandas.DataFrame({c: data[c] for c in table["columns"]}, columns=table["columns"])


def _summary(raw: Optional[str], table: str, out_dir: str) -> Optional[RunSummary]:
    if raw is None:
        return None
    r = json.loads(raw)
    instances = tuple(
        InstanceRun(
            instance=s["stage"],
            type=s["type"],
            key=s["key"],
            cache=s["cache"],
            seconds=s["seconds"],
            compute_seconds=s.get("compute_seconds", 0.0),
            items=s["items"],
            items_unit=s.get("items_unit", ""),
            bytes=s["bytes"],
            inputs=tuple(s.get("inputs", [])),
            versions=tuple(s.get("versions", [])),
        )
        for s in r["stages"]
    )
    return RunSummary(
        pipeline=r["pipeline"],
        file=r["file"],
        seconds=r["seconds"],
        exit_code=r["exit_code"],
        instances=instances,
        critical_path=tuple(r.get("critical_path", {}).get("instances", [])),
        out_dir=out_dir,
        record=r,
        table=table,
    )


# ---------------------------------------------------------------- the API


def validate(pipeline: PathLike, set: Settings = None) -> List[Dict[str, Any]]:
    """Checks a pipeline file (and overrides) as ``wmgeom validate`` does.

    Returns the plan's instances (name, stage, type, kind, key,
    estimated_bytes, inputs). Raises ValidationError listing every problem
    with its file, line, column and key.
    """
    p = _wmgeom.validate(_path(pipeline), _sets(set))
    if not p["ok"]:
        problems = _problems(p["diagnostics"])
        n = len(problems)
        raise ValidationError(
            p["formatted"] + f"{n} error{'s' if n != 1 else ''} in {_path(pipeline)}", problems
        )
    return p["instances"]


plan = validate


def run(
    pipeline: PathLike,
    set: Settings = None,
    only: Union[str, Iterable[str], None] = None,
    from_: Union[str, Iterable[str], None] = None,
    threads: int = 0,
    cache_dir: Optional[PathLike] = None,
    out: Optional[PathLike] = None,
    dry_run: bool = False,
) -> RunSummary:
    """Runs a pipeline as ``wmgeom run PIPELINE --set ... --only ... --from ...`` does.

    ``set``: overrides, {"stage.gated.steps": 300} or ["stage.gated.steps=300"].
    ``only``/``from_``: stage or instance names. ``threads`` 0: the CPUs this
    process may use. ``cache_dir``: default $WMGEOM_CACHE or .wmgeom-cache;
    ``out``: default wmgeom-out/<pipeline name> (run.json, wmgeom.log, the
    report). Returns the RunSummary. Raises ValidationError (bad pipeline or
    override), RunError (a stage failed; what finished is cached),
    KeyboardInterrupt (stopped; rerunning resumes), ValueError (other bad
    input, with the CLI's message).
    """
    if not isinstance(dry_run, bool):
        raise TypeError(f"dry_run must be a bool, not {type(dry_run).__name__}")
    r = _wmgeom.run(
        _path(pipeline),
        _sets(set),
        _names(only, "only"),
        _names(from_, "from_"),
        _dir(out, "out"),
        _dir(cache_dir, "cache_dir"),
        _threads(threads),
        dry_run,
        _log,
    )
    return _finish(r, _dir(out, "out"))


def _finish(r: Dict[str, Any], out: str) -> RunSummary:
    table = r["out"]
    summary = None
    if r["summary"] is not None:
        name = json.loads(r["summary"])["pipeline"]
        summary = _summary(r["summary"], table, out or os.path.join("wmgeom-out", name))
    for line in table.splitlines():
        if line.strip():
            logger.info(line)
    err = r["err"].strip()
    if r["interrupted"] or r["code"] == 75:
        raise KeyboardInterrupt("wmgeom: the run was stopped; finished stages are cached, rerun to resume")
    if r["code"] == 0:
        return summary
    if r["diagnostics"]:
        raise ValidationError(err, _problems(r["diagnostics"]))
    first = err.splitlines()[0] if err else f"exit code {r['code']}"
    message = first[len("error: "):] if first.startswith("error: ") else first
    failed = [i.instance for i in summary.instances if i.cache == "failed"] if summary else []
    if failed:  # a stage failed (its bad input included): what finished is cached
        raise RunError(message, failed[0], summary)
    if r["code"] == 2:
        raise ValueError(message)
    raise RunError(message, "", summary)


def _artifact(a: Dict[str, Any]) -> Artifact:
    tables = {name: _columns(t) for name, t in a.get("tables", {}).items()}
    return Artifact(
        instance=a["instance"],
        kind=a["kind"],
        meta=json.loads(a["meta"]),
        arrays=dict(a["arrays"]),
        tables=tables,
        findings=json.loads(a["findings"]) if "findings" in a else {},
    )


def _load_raw(pipeline: PathLike, stage: str, set: Settings, cache_dir, threads) -> List[Artifact]:
    if not isinstance(stage, str):
        raise TypeError(f"stage must be a stage or instance name (str), not {type(stage).__name__}")
    path = _path(pipeline)
    r = _wmgeom.load(path, _sets(set), stage, _dir(cache_dir, "cache_dir"), _threads(threads), _log)
    if r["diagnostics"]:
        problems = _problems(r["diagnostics"])
        n = len(problems)
        raise ValidationError(r["formatted"] + f"{n} error{'s' if n != 1 else ''} in {path}", problems)
    if "unknown" in r:
        raise ValueError(r["unknown"])
    if r.get("interrupted"):
        raise KeyboardInterrupt("wmgeom: stopped; finished stages are cached, rerun to resume")
    if "failed" in r:
        raise RunError(
            f"stage {r['failed']} failed: {r['error']}",
            r["failed"],
            _summary(r["summary"], "", ""),
        )
    return [_artifact(a) for a in r["artifacts"]]


def load(
    pipeline: PathLike,
    stage: str,
    set: Settings = None,
    cache_dir: Optional[PathLike] = None,
    threads: int = 0,
) -> Union[Artifact, Dict[str, Artifact]]:
    """A stage's artifact, computing it (and what it needs) if it is not cached,
    as ``wmgeom export PIPELINE STAGE DIR`` gets it.

    ``stage``: a stage name or an instance name ("gated[rnn=gru]"). A stage
    with several instances (a sweep) gives {instance name: Artifact}.
    Raises ValidationError, ValueError (no such stage), RunError, KeyboardInterrupt.
    """
    arts = _load_raw(pipeline, stage, set, cache_dir, threads)
    if len(arts) == 1:
        return arts[0]
    return {a.instance: a for a in arts}


def findings(
    pipeline: PathLike,
    stage: Optional[str] = None,
    set: Settings = None,
    cache_dir: Optional[PathLike] = None,
    threads: int = 0,
) -> Findings:
    """The findings of a pipeline: its one stage of type "findings" (or ``stage``,
    a findings or analyze instance), computed if needed.

    ``findings`` is what findings.json holds; ``tables`` every analysis table
    (pandas DataFrames when pandas is installed, else dicts of columns).
    """
    path = _path(pipeline)
    if stage is None:
        instances = validate(path, set)
        chosen = [i["name"] for i in instances if i["type"] == "findings"]
        if not chosen:
            chosen = [i["name"] for i in instances if i["kind"] == "AnalysisResult"]
            if len(chosen) != 1:
                raise ValueError(
                    f"{path} has no stage of type \"findings\""
                    + (f"; name one of its analyses: {', '.join(chosen)}" if chosen else "")
                )
        if len(chosen) != 1:
            raise ValueError(f"{path} has several findings instances; name one: {', '.join(chosen)}")
        stage = chosen[0]
    arts = _load_raw(path, stage, set, cache_dir, threads)
    if len(arts) != 1:
        raise ValueError(
            f"{stage!r} has {len(arts)} instances; name one: {', '.join(a.instance for a in arts)}"
        )
    a = arts[0]
    if a.kind != "AnalysisResult":
        raise ValueError(f"{a.instance} is a {a.kind}, not an analysis (AnalysisResult)")
    return Findings(instance=a.instance, findings=a.findings, tables=a.tables, arrays=a.arrays)


def stage_types() -> Dict[str, str]:
    """{stage type: its documentation} (``wmgeom stages TYPE``)."""
    return {t: _wmgeom.describe_stage(t) for t in _wmgeom.stage_types()}
