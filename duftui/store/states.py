"""Run states, triggers and file stages: the words the store, engine and console share."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    LOST = "lost"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def failed(self) -> bool:
        """Outcomes that count as a failure (and may be retried)."""
        return self in (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.LOST)


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED_STATUSES = tuple(s for s in RunStatus if s.finished)


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    RETRY = "retry"
    DEPENDENCY = "dependency"
    CLI = "cli"


class Stage(StrEnum):
    SOURCE = "source"
    PROCESSED = "processed"
    OUTPUT = "output"


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    EVENT = "event"


class Level:
    """Log levels, numerically compatible with Python's logging module."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50

    NAMES: ClassVar[dict[int, str]] = {
        10: "DEBUG",
        20: "INFO",
        30: "WARNING",
        40: "ERROR",
        50: "CRITICAL",
    }

    @classmethod
    def name(cls, level: int) -> str:
        return cls.NAMES.get(level, str(level))

    @classmethod
    def parse(cls, text: str) -> int:
        upper = text.strip().upper()
        aliases = {"WARN": 30, "ERR": 40, "FATAL": 50, "CRIT": 50}
        for value, name in cls.NAMES.items():
            if upper == name:
                return value
        if upper in aliases:
            return aliases[upper]
        raise ValueError(f"unknown log level {text!r}; use debug, info, warning, error")
