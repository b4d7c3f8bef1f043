"""Helpers for schedule tests: fixed zones, schedule builders and real daemon processes.

Daemons run as `python -m duftui daemon` subprocesses with their stderr in a file (a pipe
nobody reads would block a chatty daemon); every one is killed when its test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from duftui.definitions.schedules import Schedule
from tests.conftest import python_env
from tests.engine.conftest import Workspace, wait_for

AMS = ZoneInfo("Europe/Amsterdam")
NY = ZoneInfo("America/New_York")

__all__ = ["AMS", "NY", "Daemon", "at", "sched", "utc", "wait_for"]


def sched(**fields: object) -> Schedule:
    return Schedule.model_validate(fields)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def at(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)  # type: ignore[misc]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


class Daemon:
    """One `python -m duftui daemon` process."""

    def __init__(
        self,
        workspace: Workspace,
        *args: str,
        env: dict[str, str] | None = None,
        name: str = "daemon",
    ) -> None:
        self.workspace = workspace
        self.log = workspace.root.parent / f"{name}-{time.monotonic_ns()}.log"
        environment = python_env()
        environment.update(env or {})
        with self.log.open("wb") as output:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "duftui",
                    "--workspace",
                    str(workspace.root),
                    "daemon",
                    *args,
                ],
                stdout=output,
                stderr=output,
                env=environment,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def holds_lease(self) -> bool:
        with self.workspace.store.read() as conn:
            row = conn.execute(text("SELECT pid FROM lease WHERE name = 'daemon'")).first()
        return row is not None and row[0] == self.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the daemon holds the lease and has logged that it started."""
        wait_for(
            lambda: (
                self.proc.poll() is not None
                or (self.holds_lease() and "daemon started" in self.output())
            ),
            timeout=timeout,
        )
        assert self.proc.poll() is None, f"the daemon exited:\n{self.output()}"

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the daemon did not exit:\n{self.output()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Collects the daemons a test starts and kills whatever is left of them."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()
