"""Running a child process (processing script, task script) inside the step runner: its
output is passed on line by line as it comes (stdout markers included, so a script that
uses `duftui.task` keeps working), with the last stdout line and reported files kept."""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from duftui import task
from duftui.steps.errors import StepError
from duftui.steps.report import Reporter


@dataclass
class ChildResult:
    returncode: int
    last_line: str = ""
    reported: list[Path] = field(default_factory=list)
    timed_out: bool = False


def run_child(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    reporter: Reporter,
    timeout: float | None,
    what: str,
) -> ChildResult:
    """Run to completion; StepError if it cannot start."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise StepError(f"{what}: cannot start {argv[0]}: {exc.strerror or exc}") from None
    result = ChildResult(returncode=-1)
    timer = None
    if timeout:

        def expire() -> None:
            result.timed_out = True
            proc.kill()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
    assert proc.stdout is not None and proc.stderr is not None
    errors = threading.Thread(target=_relay_stderr, args=(proc.stderr, reporter), daemon=True)
    errors.start()
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            reporter.relay(line)
            if line.startswith(task.MARKER):
                _collect(line, result)
            elif line.strip():
                result.last_line = line
        result.returncode = proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.join(timeout=5)
    return result


def _relay_stderr(stream, reporter: Reporter) -> None:  # type: ignore[no-untyped-def]
    for raw in stream:
        reporter.relay(raw.decode("utf-8", errors="replace").rstrip("\r\n"), "stderr")


def _collect(line: str, result: ChildResult) -> None:
    try:
        message = json.loads(line[len(task.MARKER) :])
    except ValueError:
        return
    if isinstance(message, dict) and message.get("type") == "output" and message.get("path"):
        result.reported.append(Path(str(message["path"])))
