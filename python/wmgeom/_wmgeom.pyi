# Type stub of the extension (python/module.cpp). Users call the wrappers in
# wmgeom/__init__.py, which raise the exceptions and build the dataclasses;
# these are the raw results they wrap.
from typing import Any, Callable, Dict, List, Optional, Tuple

# (file, line, column, key, message, "file:line:col: error: key: message")
_Diagnostic = Tuple[str, int, int, str, str, str]
_LogCallback = Optional[Callable[[int, str], None]]

def validate(pipeline: str, sets: List[str]) -> Dict[str, Any]:
    """{"ok", "diagnostics": [_Diagnostic], "formatted", "name", "instances": [
    {"name", "stage", "type", "kind", "key", "estimated_bytes", "inputs"}]}"""

def run(
    pipeline: str,
    sets: List[str],
    only: List[str],
    from_: List[str],
    out_dir: str,
    cache_dir: str,
    threads: int,
    dry_run: bool,
    log: _LogCallback,
) -> Dict[str, Any]:
    """{"code": exit code as the CLI's, "out", "err": its stdout and stderr text,
    "interrupted", "diagnostics", "summary": run.json's record as JSON text or None}"""

def load(
    pipeline: str, sets: List[str], stage: str, cache_dir: str, threads: int, log: _LogCallback
) -> Dict[str, Any]:
    """{"diagnostics", "formatted", "artifacts": [{"instance", "kind", "meta" (JSON
    text), "arrays" (NumPy views of the engine's buffers), "addresses" (each
    buffer's address), and for an AnalysisResult "tables" ({name: {"columns",
    "data"}}) and "findings" (JSON text)}], "interrupted"; "unknown" (no such
    stage) or "failed", "error", "code", "summary" when it could not load}"""

def engine_load(
    pipeline: str, sets: List[str], stage: str, cache_dir: str, threads: int = 0
) -> Dict[str, float]:
    """The same load of one cached instance timed in C++: {"plan_s", "load_s",
    "cache_load_s", "bytes"}"""

def stage_types() -> List[str]: ...
def describe_stage(type: str) -> Optional[str]: ...
