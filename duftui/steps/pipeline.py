"""Pipeline tasks: [source] → [processing] → [output] → [[deliver]] → [notify] (DESIGN §7).

Each step logs its start and end with timings and row or byte counts, and reports its
files (stage source, processed or output) so they land in `output_file`. A failing step
stops the run; the files and log lines written so far are kept. `[notify]` runs last,
also after a failure — and after SIGTERM (cancel or timeout), which the supervisor sends
before SIGKILL, so the failure mail goes out within the kill grace period.
"""

from __future__ import annotations

import signal
import socket
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from duftui.definitions.conversion import asks_conversion
from duftui.definitions.models import Output
from duftui.steps import output as out
from duftui.steps.context import StepContext
from duftui.steps.errors import StepError, Terminated, TransferError, internal_error
from duftui.steps.files import Fetched
from duftui.steps.report import Reporter, human_size

EXIT_FAILED = 1
EXIT_TERMINATED = 143


@dataclass
class PipelineState:
    files: list[Path] = field(default_factory=list)
    final: list[Path] = field(default_factory=list)
    rows: int | None = None
    fetched: Fetched | None = None
    skipped: bool = False
    delivered: int = 0
    terminated: bool = False


def run_pipeline(ctx: StepContext) -> int:
    reporter = Reporter()
    state = PipelineState()
    started, started_at = time.monotonic(), datetime.now(UTC)
    status, error = "succeeded", None
    with _sigterm_raises(state):
        try:
            _run_steps(ctx, state, reporter)
        except StepError as exc:
            # SIGTERM may surface as the error of whatever it interrupted (a query, a script)
            if isinstance(exc, Terminated) or state.terminated:
                status = _terminated_status(ctx)
                error = f"the run was {status} while a step was running"
                reporter.error(f"pipeline: {error}")
            else:
                status, error = "failed", str(exc)
                reporter.error(error)
        except Exception as exc:  # a bug must still end in a clear line and a failure mail
            status, error = "failed", internal_error(exc, _failed_step(reporter))
            reporter.log(traceback.format_exc().rstrip(), "debug")
            reporter.error(error)
        took = time.monotonic() - started
        if status == "succeeded":
            reporter.info(f"pipeline: succeeded in {took:.2f}s" + _summary(state))
        notify = ctx.spec.notify
        if notify is not None and (
            notify.on_success if status == "succeeded" else notify.on_failure
        ):
            try:
                _notify(ctx, state, reporter, status, error, started_at, took)
            except StepError as exc:
                reporter.error(str(exc))
                if status == "succeeded":
                    status = "failed"
            except Exception as exc:  # a bug in notify: same as above, one sentence
                reporter.log(traceback.format_exc().rstrip(), "debug")
                reporter.error(internal_error(exc, "pipeline step notify"))
                if status == "succeeded":
                    status = "failed"
    if status == "succeeded":
        return 0
    return EXIT_TERMINATED if state.terminated else EXIT_FAILED


def _run_steps(ctx: StepContext, state: PipelineState, reporter: Reporter) -> None:
    spec = ctx.spec
    kind = spec.run.kind
    at = ctx.logical_time
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sql":
        _sql_source(ctx, state, reporter)
    elif kind == "files":
        from duftui.steps.files import fetch_files

        with reporter.step("source: files") as info, _named("source"):
            state.fetched = fetch_files(ctx, reporter)
            state.files = list(state.fetched.files)
            info["summary"] = _files_summary(state.files)
        if not state.files:
            if (spec.output or Output()).skip_empty:
                reporter.info("source: no files; skip_empty = true, so nothing more to do")
                state.skipped = True
                return
            raise StepError(
                f"source: no files match {state.fetched.pattern} on {state.fetched.where}"
            )
    elif kind == "ssh":
        from duftui.steps.ssh import run_ssh_command

        later = bool(spec.processing or spec.output or spec.deliver)
        with reporter.step("source: ssh command"), _named("source"):
            saved = run_ssh_command(ctx, reporter, capture=later)
        state.files = [saved] if saved else []
    elif kind in ("python", "command"):
        from duftui.steps.script import run_script

        with reporter.step(f"source: {kind}") as info:
            state.files = run_script(ctx, reporter)
            info["summary"] = _files_summary(state.files)
    else:
        raise StepError(f"run.kind {kind!r} has no pipeline source")
    if state.skipped:
        return
    if spec.processing is not None:
        from duftui.steps.processing import run_processing

        with reporter.step("processing") as info:
            inputs = state.files
            state.files = run_processing(ctx, inputs, reporter)
            for path in state.files:
                if path not in inputs:
                    reporter.output(path, "processed")
            info["summary"] = _files_summary(state.files)
        if not state.files:
            reporter.warning("processing: the script listed no files; nothing to write or deliver")
    state.final = state.files
    if spec.output is not None and state.files:
        names = _name_params(ctx)
        with reporter.step("output") as info:
            files = state.files
            if kind == "files" and asks_conversion(spec.output):
                from duftui.steps.convert import convert_files

                files = convert_files(files, spec.output, at, ctx.output_dir, reporter, names)
            elif kind != "sql":  # a SQL task's output.name already named its rows file
                files = out.rename_files(files, spec.output, at, ctx.output_dir, reporter, names)
            state.final = out.finish_files(
                files, spec.output, at, ctx.output_dir, reporter, names
            )
            info["summary"] = _files_summary(state.final)
    if spec.deliver and state.final:
        _deliver(ctx, state, reporter)
    if state.fetched is not None and spec.source and spec.source.delete_after:
        from duftui.steps.files import delete_sources

        with reporter.step("source: delete_after"), _named("source: delete_after"):
            delete_sources(ctx, state.fetched, reporter)


def _sql_source(ctx: StepContext, state: PipelineState, reporter: Reporter) -> None:
    from duftui.steps import sql

    spec = ctx.spec
    source = spec.source
    assert source is not None and source.connection
    output = spec.output or Output()
    path = out.rows_file(output, ctx.logical_time, ctx.output_dir, _name_params(ctx))
    with reporter.step("source: sql") as info:
        query = sql.build_query(
            source, ctx.folder, ctx.workspace, ctx.params, ctx.logical_time, reporter,
            ctx.connections,
        )
        bound = ", ".join(f":{name}" for name in query.bind) or "no parameters"
        reporter.info(f"source: {query.origin} on {source.connection} ({bound}) → {path.name}")
        values = ctx.connections.get(source.connection)
        if values is None:
            raise StepError(
                f"source: connection {source.connection!r} was not handed to "
                "this run (is it defined in connections.toml without errors?)"
            )
        engine = sql.make_engine(source.connection, values)
        deadline = sql.Deadline(
            source.timeout.total_seconds() if source.timeout else None, lambda: state.terminated
        )
        counter = sql.RowCounter(reporter)
        try:
            state.rows = sql.export(
                engine,
                query,
                source.fetch_size,
                deadline,
                lambda columns, blocks: out.write_rows(path, output, columns, blocks, counter),
                output.format,
            )
        finally:
            engine.dispose()
        info["summary"] = f"{state.rows:,} rows, {human_size(path.stat().st_size)}"
    if state.rows == 0 and output.skip_empty:
        path.unlink(missing_ok=True)
        reporter.info(
            "source: the query returned no rows; skip_empty = true, so no file is "
            "written or delivered"
        )
        state.skipped = True
        return
    reporter.output(path, "source" if spec.processing else "output")
    state.files = [path]


def _name_params(ctx: StepContext) -> dict:
    """The run's parameters as output names may use them (secret ones refused)."""
    from duftui.engine.params import name_params

    return name_params(ctx.catalogue, ctx.entry, ctx.params)


def _deliver(ctx: StepContext, state: PipelineState, reporter: Reporter) -> None:
    from duftui.steps.deliver import deliver_to
    from duftui.steps.recording import DeliveryLog

    history = DeliveryLog(ctx.workspace, ctx.run_id)
    if history.problem:
        reporter.warning(f"deliver: {history.problem}")

    def record(path: Path, target: str) -> None:
        if history.store is not None and not history.add(path, target):
            reporter.warning(
                f"deliver: {path.name} has no output_file row yet; its delivery "
                "to {target} is not in the history"
            )

    try:
        for index, target in enumerate(ctx.spec.deliver):
            with reporter.step(f"deliver[{index}] ({target.kind})") as info:
                written = deliver_to(
                    index,
                    target,
                    state.files if target.kind == "table" else state.final,  # data, not zips
                    at=ctx.logical_time,
                    connections=ctx.connections,
                    workspace=ctx.workspace,
                    reporter=reporter,
                    record=record,
                )
                info["summary"] = f"{len(written)} file(s)"
                state.delivered += 1
    finally:
        history.close()


def _notify(
    ctx: StepContext,
    state: PipelineState,
    reporter: Reporter,
    status: str,
    error: str | None,
    started_at: datetime,
    took: float,
) -> None:
    from duftui.steps.masking import run_masker
    from duftui.steps.notify import Notice, send

    notify = ctx.spec.notify
    assert notify is not None
    values = ctx.connections.get(notify.connection)
    if values is None:
        raise StepError(
            f"notify: connection {notify.connection!r} was not handed to this run "
            "(is it defined in connections.toml?)"
        )
    files = state.final or state.files
    fields = {
        "task": ctx.entry.key,
        "name": ctx.spec.name,
        "project": ctx.entry.project,
        "run_id": ctx.run_id,
        "status": status,
        "error": error or "",
        "attempt": _attempt(),
        "logical_time": ctx.logical_time.isoformat(timespec="seconds"),
        "started_at": started_at.astimezone().isoformat(timespec="seconds"),
        "duration": f"{took:.1f}s",
        "host": socket.gethostname(),
        "files": ", ".join(p.name for p in files) or "none",
        "rows": "" if state.rows is None else state.rows,
        "params": ctx.params,
    }
    notice = Notice(
        fields=fields,
        status=status,
        error=error,
        files=files,
        tail=list(reporter.tail),
        encoding=(ctx.spec.output or Output()).encoding,
        masker=run_masker(ctx),
    )
    with reporter.step("notify") as info:
        sent = send(notify, notice, values, ctx.logical_time)
        info["summary"] = f"mail to {', '.join(sent)}"


def _failed_step(reporter: Reporter) -> str:
    """The step that was running when an unexpected error stopped it (the reporter logs
    "NAME: stopped after …" as it unwinds), for the error sentence."""
    for line in reversed(reporter.tail):
        text = line[8:]
        if ": stopped after " in text:
            return "pipeline step " + text.split(": stopped after ", 1)[0]
    return "pipeline"


def _attempt() -> str:
    import os

    return os.environ.get("DUFTUI_ATTEMPT", "1")


def _summary(state: PipelineState) -> str:
    parts = []
    if state.rows is not None:
        parts.append(f"{state.rows:,} rows")
    if state.final:
        parts.append(_files_summary(state.final))
    if state.delivered:
        parts.append(f"delivered to {state.delivered} target(s)")
    if state.skipped:
        parts.append("nothing to do (skip_empty)")
    return f": {', '.join(parts)}" if parts else ""


def _files_summary(files: list[Path]) -> str:
    total = sum(p.stat().st_size for p in files if p.exists())
    return f"{len(files)} file(s), {human_size(total)}"


@contextmanager
def _named(step: str) -> Iterator[None]:
    """Transport errors name the server; this puts the step in front of them."""
    try:
        yield
    except TransferError as exc:
        raise StepError(f"{step}: {exc}") from None


@contextmanager
def _sigterm_raises(state: PipelineState) -> Iterator[None]:
    """SIGTERM (cancel, timeout) raises Terminated once, so the failure path still runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.terminated:
            return
        state.terminated = True
        raise Terminated("terminated")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminated_status(ctx: StepContext) -> str:
    """ "cancelled" when someone asked for it, else "timed out" (the only other sender)."""
    try:
        from sqlalchemy import text

        from duftui import locations
        from duftui.store.db import Store

        store = Store(locations.state_db(ctx.workspace), create=False)
        try:
            with store.read() as conn:
                row = conn.execute(
                    text("SELECT cancel_requested FROM run WHERE id = :id"), {"id": ctx.run_id}
                ).first()
        finally:
            store.close()
    except Exception:  # the mail matters more than the exact word
        return "terminated"
    if row and row[0]:
        return "cancelled"
    return "timed out" if ctx.spec.timeout else "terminated"
