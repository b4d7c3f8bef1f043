"""Frozen events the engine emits; the console, daemon and CLI consume the same ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    run_id: int
    task_key: str


@dataclass(frozen=True, kw_only=True)
class RunStarted(RunEvent):
    pid: int | None


@dataclass(frozen=True, kw_only=True)
class RunLines(RunEvent):
    """New lines were stored for a run (read them by sequence number)."""

    count: int


@dataclass(frozen=True, kw_only=True)
class RunProgress(RunEvent):
    done: float
    total: float | None


@dataclass(frozen=True, kw_only=True)
class RunFinished(RunEvent):
    status: str
    exit_code: int | None
    retry_run_id: int | None = None
