"""The SSH command source (`run.kind = "ssh"`): run a command on a remote host with
asyncssh, pass its stdout and stderr into the log line by line as they come, and let its
exit status decide the run. When later steps need a file, stdout is also saved as
`source/command_output.txt`."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import IO

import asyncssh

from duftui.engine.templates import TemplateError, expand
from duftui.steps.context import StepContext
from duftui.steps.errors import StepError
from duftui.steps.remote.sshconnect import describe, ssh_connect
from duftui.steps.report import Reporter


def run_ssh_command(ctx: StepContext, reporter: Reporter, capture: bool) -> Path | None:
    source = ctx.spec.source
    assert source is not None and source.connection and (source.command or source.script)
    values = ctx.connections.get(source.connection)
    if values is None:
        raise StepError(f"source: connection {source.connection!r} was not handed to this run")
    if values.get("type") not in ("ssh", "sftp"):
        raise StepError(
            f"source: connection {source.connection} is a {values.get('type')} "
            "connection; an ssh command needs type ssh"
        )
    command, script = script_command(ctx)
    label = describe(source.connection, values)
    saved = ctx.output_dir / "source" / "command_output.txt" if capture else None
    timeout = source.timeout.total_seconds() if source.timeout else None
    reporter.info(f"source: running on {label}: {command}")
    handle: IO[str] | None = None
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        handle = open(saved, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        status, signal = asyncio.run(
            _run(ctx, source.connection, values, command, reporter, handle, timeout, script)
        )
    except TimeoutError:
        raise StepError(
            f"source: the command on {label} timed out after {timeout:g}s (source.timeout)"
        ) from None
    finally:
        if handle is not None:
            handle.close()
    if signal:
        raise StepError(f"source: the command on {label} was killed by signal {signal}")
    if status != 0:
        raise StepError(f"source: the command on {label} failed with exit status {status}")
    if saved is not None:
        reporter.output(saved, "source")
    return saved


async def _run(
    ctx: StepContext,
    name: str,
    values: dict,
    command: str,
    reporter: Reporter,
    handle: IO[str] | None,
    timeout: float | None,
    script: str | None = None,
) -> tuple[int | None, str | None]:
    conn = await ssh_connect(name, values, ctx.workspace)
    async with conn:
        process = await conn.create_process(command, encoding="utf-8", errors="replace")
        if script is not None:
            process.stdin.write(script)
        process.stdin.write_eof()

        async def pump(stream: asyncssh.SSHReader[str], kind: str) -> None:
            async for line in stream:
                reporter.relay(line.rstrip("\r\n"), kind)
                if handle is not None and kind == "stdout":
                    handle.write(line)

        async def work() -> None:
            await asyncio.gather(pump(process.stdout, "stdout"), pump(process.stderr, "stderr"))
            await process.wait_closed()

        try:
            await asyncio.wait_for(work(), timeout)
        except TimeoutError:
            process.close()
            raise
        return process.exit_status, process.exit_signal[0] if process.exit_signal else None


def script_command(ctx: StepContext) -> tuple[str, str | None]:
    """The command to run and what to feed it. `script` is a project file sent to
    `sh -s` on its stdin (never pasted into a command line); with `script_on_host` it is a
    path on the host, run as `sh PATH`. Date templates expand in both, as in `command`."""
    source = ctx.spec.source
    assert source is not None
    try:
        if source.command:
            return expand(source.command, ctx.logical_time), None
        assert source.script
        if source.script_on_host:
            return f"sh -- {shlex.quote(expand(source.script, ctx.logical_time))}", None
        path = ctx.folder / source.script
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StepError(f"source: cannot read script {source.script}: {exc}") from None
        return "sh -s", expand(text, ctx.logical_time)
    except TemplateError as exc:
        raise StepError(f"source: {'command' if source.command else 'script'}: {exc}") from None

