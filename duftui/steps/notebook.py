"""Notebook tasks (`kind = "notebook"`): run every code cell on a Jupyter kernel.

The step runner is the supervisor's child like any task process, so a notebook gets the
same live log, cancel, timeout and resource accounting as a script. This module:

- reads the notebook and injects the run's parameters (DUFT and papermill styles, see
  notebook_params);
- starts the kernel named by `run.kernel`, else the notebook's metadata, else `python3`,
  in the notebook's own folder as Jupyter and DUFT do (`cwd = "root"`: the workspace),
  with the DUFT shim on PYTHONPATH when the notebook imports DUFT's modules;
- relays outputs to the log as they arrive and keeps them for the executed notebook;
- stops at the first failing cell, logging its number, exception and traceback;
- on SIGTERM (cancel or timeout from the supervisor) interrupts the running cell, then
  shuts the kernel down; no kernel outlives the run;
- saves the executed notebook, secrets masked in every common encoding (the injected
  parameters cell holds their `repr`), as an output file of the run, and masks the
  kernel's own log (what a cell's subprocesses wrote to stderr) in the run's folder.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from duftui import task
from duftui.compat.duft import SHIM_DIR, uses_duft
from duftui.engine.streams import strip_ansi
from duftui.envs.build import EnvError
from duftui.envs.request import RequestError
from duftui.envs.support import kernel_python
from duftui.steps.context import StepContext
from duftui.steps.masking import run_masker
from duftui.steps.notebook_kernel import CellResult, KernelError, KernelSession
from duftui.steps.notebook_output import OutputRelay, mask_file, mask_notebook
from duftui.steps.notebook_params import Injection, inject_parameters

KERNEL_LOG = "kernel.log"
EXIT_FAILED = 1
EXIT_SETUP = 2
EXIT_STOPPED = 128 + signal.SIGTERM


def run_notebook(ctx: StepContext) -> int:
    """Run the task's notebook; the exit code is the run's outcome."""
    spec = ctx.spec
    path = (ctx.folder / (spec.run.file or "")).resolve()
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        task.error(f"cannot read notebook {path}: {exc}")
        return EXIT_SETUP
    injection = inject_parameters(notebook, ctx.params)
    _log_injection(injection, ctx.params)
    kernel_name = spec.run.kernel or _metadata_kernel(notebook) or "python3"
    cwd = ctx.workspace if spec.run.cwd == "root" else path.parent
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    _stop_on_signals(stop)
    env = _kernel_env(spec.run.duft, notebook)
    try:  # the task's own environment, when it has one (docs/environments.md)
        python = kernel_python(ctx.catalogue, ctx.entry, env, task.log)
    except (EnvError, RequestError) as exc:
        task.error(str(exc))
        return EXIT_SETUP
    session = KernelSession(kernel_name, cwd, env, ctx.output_dir / KERNEL_LOG, stop, python)
    outcome = "failed"
    code = EXIT_FAILED
    try:
        code, outcome = _execute(session, notebook, injection, kernel_name, cwd, stop)
    except KernelError as exc:
        task.error(str(exc))
        code, outcome = EXIT_SETUP, "failed"
    finally:
        pid = session.pid
        session.shutdown()
        if pid is not None:
            task.log(f"kernel (pid {pid}) shut down")
        saved = _save(notebook, ctx, path, outcome)
        if saved is not None:
            task.output(saved)
    return code


def _execute(
    session: KernelSession,
    notebook: NotebookNode,
    injection: Injection,
    kernel_name: str,
    cwd: Path,
    stop: threading.Event,
) -> tuple[int, str]:
    started = time.monotonic()
    task.log(f"starting kernel {kernel_name} in {cwd}")
    session.start()
    if stop.is_set():
        task.warning("stopped before the first cell ran")
        return EXIT_STOPPED, "cancelled"
    task.log(f"kernel {kernel_name} (pid {session.pid}) ready in {time.monotonic() - started:.1f}s")
    relay = OutputRelay()
    cells = [
        i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and _runnable(cell)
    ]
    for done, index in enumerate(cells):
        cell = notebook.cells[index]
        relay.begin(cell)
        result = session.execute(_source(cell), relay.handle)
        relay.end()
        if result.execution_count is not None:
            cell.execution_count = result.execution_count
        label = _label(injection, index)
        if result.status == "interrupted":
            task.warning(f"stopped: {label} was interrupted; shutting the kernel down")
            return EXIT_STOPPED, "cancelled"
        if result.status == "died":
            exit_code = session.exit_code()
            task.error(
                f"the kernel died while running {label}"
                + (f" (exit code {exit_code})" if exit_code is not None else "")
                + session.log_tail()
            )
            return EXIT_FAILED, "failed"
        if result.status == "error":
            verdict = _judge_error(result, label, "raises-exception" in _tags(cell))
            if verdict is not None:
                return verdict
        task.progress(done + 1, len(cells))
    task.log(f"notebook finished: {len(cells)} code cell(s) in {time.monotonic() - started:.1f}s")
    return 0, "succeeded"


def _judge_error(result: CellResult, label: str, allowed: bool) -> tuple[int, str] | None:
    """None to carry on; otherwise the exit code and outcome of the run."""
    if result.ename == "SystemExit":
        value = result.evalue.strip()
        if value in ("", "0", "None", "False"):
            task.log(f"{label} called sys.exit({value or ''}); stopping here")
            return 0, "succeeded"
        task.error(f"{label} called sys.exit({value})")
        return (int(value) if value.isdigit() else EXIT_FAILED), "failed"
    if allowed:
        task.log(f"{label} raised {result.ename} (tagged raises-exception; carrying on)")
        return None
    task.error(f"{label} raised {result.ename}: {result.evalue}")
    for block in result.traceback:
        for line in strip_ansi(block).splitlines():
            task.error(line)
    task.error(f"notebook failed at {label}: {result.ename}: {result.evalue}")
    return EXIT_FAILED, "failed"


def _label(injection: Injection, index: int) -> str:
    number = injection.origin[index] if index < len(injection.origin) else None
    return f"cell {number}" if number is not None else "the injected parameters cell"


def _log_injection(injection: Injection, params: dict[str, Any]) -> None:
    if injection.duft_cell is not None:
        task.log(f"parameters set in cell {injection.duft_cell} (params = {{…}}, DUFT style)")
    if injection.papermill_cell is not None:
        task.log(
            f"parameters injected after cell {injection.papermill_cell} "
            "(tagged parameters, papermill style)"
        )
    if not injection.injected and params:
        task.log(
            "the notebook has no parameters cell (a first cell `params = {}` or a cell "
            "tagged `parameters`); parameters are in the environment only"
        )


def _metadata_kernel(notebook: NotebookNode) -> str | None:
    spec = notebook.get("metadata", {}).get("kernelspec", {})
    name = spec.get("name") if isinstance(spec, dict) else None
    return str(name) if name else None


def _source(cell: NotebookNode) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _runnable(cell: NotebookNode) -> bool:
    return bool(_source(cell).strip()) and "skip-execution" not in _tags(cell)


def _kernel_env(duft: bool, notebook: NotebookNode) -> dict[str, str]:
    """The step runner's environment, plus the DUFT shim when the notebook uses DUFT."""
    env = dict(os.environ)
    code = "\n".join(_source(c) for c in notebook.cells if c.cell_type == "code")
    if duft or uses_duft(code):
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(SHIM_DIR), env.get("PYTHONPATH", "")) if p
        )
    return env


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (cancel, timeout) and SIGINT only set a flag; the cell loop acts on it."""

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def _save(notebook: NotebookNode, ctx: StepContext, path: Path, outcome: str) -> Path | None:
    """Write the executed notebook into the run's folder (secrets masked)."""
    target = ctx.output_dir / path.name
    try:
        masker = run_masker(ctx)
        mask_file(ctx.output_dir / KERNEL_LOG, masker)
        mask_notebook(notebook, masker)
        notebook.metadata["duftui"] = {
            "run_id": ctx.run_id,
            "task": ctx.entry.key,
            "outcome": outcome,
        }
        nbformat.write(notebook, str(target))
    except Exception as exc:  # saving must never hide the run's real outcome
        print(f"could not save the executed notebook: {exc!r}", file=sys.stderr, flush=True)
        return None
    return target
