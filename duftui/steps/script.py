"""A `python` or `command` task that also has pipeline tables ([processing], [output],
[[deliver]], [notify]): its script is the source step. It runs as it would on its own
(argv, working folder, environment), its output is passed on as it comes, and the files it
reports with `duftui.task.output(path)` become the pipeline's files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from duftui.steps.child import run_child
from duftui.steps.context import StepContext
from duftui.steps.errors import StepError
from duftui.steps.report import Reporter


def script_argv(ctx: StepContext, env: dict[str, str]) -> list[str]:
    """As duftui.engine.launch builds it, DUFT shim included for DUFT scripts."""
    run = ctx.spec.run
    if run.kind == "python":
        from duftui.compat.duft import SHIM_DIR, script_uses_duft

        script = (ctx.folder / (run.file or "")).resolve()
        argv = [run.interpreter or sys.executable, "-u", str(script), *run.args]
        if run.duft or script_uses_duft(script):
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(SHIM_DIR), env.get("PYTHONPATH", "")) if p
            )
            argv.append(json.dumps(ctx.params, default=str))
        return argv
    if run.shell:
        return ["/bin/sh", "-c", str(run.command)]
    if isinstance(run.command, list):
        return [*run.command, *run.args]
    return [str((ctx.folder / (run.file or "")).resolve()), *run.args]


def run_script(ctx: StepContext, reporter: Reporter) -> list[Path]:
    run = ctx.spec.run
    cwd = ctx.folder if run.cwd == "task" else ctx.workspace
    env = dict(os.environ)
    result = run_child(script_argv(ctx, env), cwd, env, reporter, None, "source")
    if result.returncode != 0:
        raise StepError(f"source: the {run.kind} step failed with exit code {result.returncode}")
    missing = [path for path in result.reported if not path.is_file()]
    if missing:
        raise StepError(f"source: the script reported {missing[0]}, which does not exist")
    return result.reported
