"""`duftui.toml`: settings for the whole workspace (DESIGN §12), parsed as strictly as the
task files, with the same located messages. The file is optional; each table is too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from duftui.definitions.common import Duration, SecretRef, Strict
from duftui.definitions.parsing import read_toml, validate_model
from duftui.definitions.problems import Problem

SETTINGS_FILE = "duftui.toml"


class WorkersSettings(Strict):
    """Where runs of a named queue go (DESIGN §11)."""

    broker: str | SecretRef | None = None
    """Redis URL of the Celery broker; a reference when it holds a password."""
    heartbeat: Duration = timedelta(seconds=5)
    """A worker silent for three heartbeats has lost its runs."""


class RetentionSettings(Strict):
    """What `duftui prune` and the daemon's daily prune remove. Unset means keep."""

    runs: Duration | None = None
    """Finished runs older than this go, with their logs, output records and run folders."""
    keep_last: int | None = Field(default=None, ge=1)
    """…but the last N runs of each task always stay."""
    logs: Duration | None = None
    """Log lines older than this go even where their run stays."""
    environments: Duration | None = None
    """Task environments unused for this long go."""

    @model_validator(mode="after")
    def _logs_not_longer(self) -> RetentionSettings:
        if self.runs is not None and self.logs is not None and self.logs > self.runs:
            raise ValueError(
                "logs cannot be kept longer than their runs: make `logs` at most `runs`"
            )
        return self

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.runs, self.keep_last, self.logs))


class AlertChannel(Strict):
    """One place an alert goes."""

    name: str
    kind: Literal["email", "webhook", "command"]
    to: list[str] = []
    url: str | SecretRef | None = None
    command: list[str] = []
    connection: str | None = None


class AlertSettings(Strict):
    """Rules for every task unless a task or project says otherwise: lists of channel names."""

    on_failure: list[str] = []
    on_dead: list[str] = []
    on_missed: list[str] = []
    on_slow: list[str] = []
    on_no_success: list[str] = []
    channel: list[AlertChannel] = []


class EnvironmentSettings(Strict):
    """Defaults for task environments built with uv (DESIGN §13)."""

    python: str | None = None
    index_url: str | SecretRef | None = None
    extra_index_url: list[str] = []


class WorkspaceSettings(Strict):
    workers: WorkersSettings = WorkersSettings()
    retention: RetentionSettings = RetentionSettings()
    alerts: AlertSettings = AlertSettings()
    environments: EnvironmentSettings = EnvironmentSettings()


@dataclass
class LoadedSettings:
    """The settings (defaults where the file or a table is missing) and what was wrong."""

    settings: WorkspaceSettings
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None


def load_settings(root: Path) -> LoadedSettings:
    """Read `duftui.toml` of the workspace at `root`; a broken file gives the defaults and
    its problems (so one bad setting never stops the workspace)."""
    path = root / SETTINGS_FILE
    if not path.exists() and not path.is_symlink():
        return LoadedSettings(WorkspaceSettings())
    parsed = read_toml(path, root)
    if parsed.data is None:
        return LoadedSettings(WorkspaceSettings(), parsed.problems, path)
    settings = validate_model(WorkspaceSettings, parsed)
    return LoadedSettings(settings or WorkspaceSettings(), parsed.problems, path)
