"""The `[processing]` step, with Atlas's contract for scripts (DESIGN §5.2):

- the input files are the script's arguments;
- `TASK` (the task and run as JSON) and `CONNECTION` (the source connection as JSON,
  secrets resolved) are in its environment, with one variable per parameter;
- its last line on stdout is a Python list literal of the files it produced, read with
  `ast.literal_eval`. A listed path that does not exist is an error, never dropped,
  and so is one outside the run's folder (after following links): the list is the
  script's text, and the files it names are renamed, zipped and delivered.

The script runs in the run's folder (relative paths it prints are taken from there), in its
own environment (docs/environments.md) when it declares one.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path
from typing import Any

from duftui.engine.params import as_env_value
from duftui.envs.build import EnvError, ensure
from duftui.envs.request import RequestError
from duftui.envs.support import apply, entry_request
from duftui.steps.child import run_child
from duftui.steps.context import StepContext
from duftui.steps.errors import StepError
from duftui.steps.report import Reporter

LIST_EXAMPLE = "['/path/to/result.csv']"


def task_json(ctx: StepContext) -> dict[str, Any]:
    """What a processing script learns about its task from `TASK`."""
    spec = ctx.spec
    return {
        "key": ctx.entry.key,
        "project": ctx.entry.project,
        "name": spec.name,
        "description": spec.description,
        "run_id": ctx.run_id,
        "logical_time": ctx.logical_time.isoformat(),
        "output_dir": str(ctx.output_dir),
        "params": ctx.params,
        "definition": spec.model_dump(mode="json", exclude_none=True),
    }


def run_processing(ctx: StepContext, inputs: list[Path], reporter: Reporter) -> list[Path]:
    processing = ctx.spec.processing
    assert processing is not None
    script = (ctx.folder / processing.script).resolve()
    if not script.is_file():
        raise StepError(f"processing: script {processing.script} does not exist")
    python = processing.interpreter or sys.executable
    env = dict(os.environ)
    try:
        request = entry_request(ctx.catalogue, ctx.entry, "processing")
        if request is not None:
            found = ensure(request, ctx.workspace, ctx.entry.key,
                           lambda line: reporter.info(f"processing: {line}"))
            reporter.info(f"processing: {found.describe()}")
            python = str(found.python)
            apply(env, found, ctx.workspace, duft=False)
    except (RequestError, EnvError) as exc:
        raise StepError(f"processing: {exc}") from None
    source = ctx.spec.source
    connection = ctx.connections.get(source.connection, {}) if source and source.connection else {}
    env.update({name: as_env_value(value) for name, value in ctx.params.items()})
    env["TASK"] = json.dumps(task_json(ctx), default=str, ensure_ascii=False)
    env["CONNECTION"] = json.dumps(connection, default=str, ensure_ascii=False)
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    argv = [python, "-u", str(script), *(str(path) for path in inputs)]
    reporter.info(f"processing: {processing.script} with {len(inputs)} input file(s)")
    timeout = processing.timeout.total_seconds() if processing.timeout else None
    result = run_child(argv, ctx.output_dir, env, reporter, timeout, "processing")
    if result.timed_out:
        raise StepError(f"processing: {processing.script} timed out after {timeout:g}s")
    if result.returncode != 0:
        raise StepError(
            f"processing: {processing.script} failed with exit code {result.returncode}"
        )
    return listed_files(result.last_line, ctx.output_dir, processing.script, inputs)


def listed_files(line: str, cwd: Path, script: str, inputs: list[Path] | None = None) -> list[Path]:
    """The Atlas list literal on the script's last stdout line, checked file by file
    (one of the script's own inputs may be listed wherever it is)."""
    try:
        value = ast.literal_eval(line.strip()) if line.strip() else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        shown = (line[:200] + "…") if len(line) > 200 else line
        raise StepError(
            f"processing: the last line {script} printed must be a Python list of "
            f"file paths like {LIST_EXAMPLE}; got {shown!r}"
        )
    files = []
    root = cwd.resolve()
    given = {path.resolve() for path in inputs or []}
    for item in value:
        if "\0" in item:
            raise StepError(f"processing: {script} listed {item!r}, which holds a NUL character")
        path = Path(item).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise StepError(
                f"processing: {script} listed {item}, which does not exist (or is not a file)"
            )
        real = path.resolve()
        if not real.is_relative_to(root) and real not in given:
            raise StepError(
                f"processing: {script} listed {item}, which is outside the run's folder "
                f"{cwd}; write the files it produces there (it is the script's working "
                "folder)"
            )
        files.append(path)
    return files
