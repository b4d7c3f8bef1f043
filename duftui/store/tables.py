"""SQLModel tables of DESIGN §4. The DDL lives in `migrations.py`; these classes mirror it
(a test checks that they agree) and give typed rows to the rest of the code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from duftui.store.timestamps import from_iso, to_iso


class IsoDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as fixed-width UTC ISO-8601 text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | str | None, dialect: object) -> str | None:
        if isinstance(value, str):
            return value
        return to_iso(value)

    def process_result_value(self, value: str | None, dialect: object) -> datetime | None:
        return from_iso(value)


def _ts(nullable: bool = True) -> object:
    return Field(default=None, sa_type=IsoDateTime, nullable=nullable)


class Batch(SQLModel, table=True):
    __tablename__ = "batch"

    id: int | None = Field(default=None, primary_key=True)
    project: str
    trigger: str
    schedule_key: str | None = None
    logical_time: datetime | None = _ts()
    requested_by: str = ""
    root_task: str | None = None
    plan: str = "{}"
    created_at: datetime = _ts(nullable=False)


class Run(SQLModel, table=True):
    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    task_key: str
    project: str
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    attempt: int = 1
    max_attempts: int = 1
    retry_of: int | None = Field(default=None, foreign_key="run.id")
    trigger: str
    requested_by: str = ""
    schedule_key: str | None = None
    logical_time: datetime | None = _ts()
    logical_tz: str | None = None
    params: str = "{}"
    status: str
    queued_at: datetime = _ts(nullable=False)
    not_before: datetime | None = _ts()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    exit_code: int | None = None
    error: str | None = None
    pid: int | None = None
    pid_started: float | None = None
    host: str | None = None
    supervisor: str | None = None
    cpu_user_s: float | None = None
    cpu_sys_s: float | None = None
    max_rss_kb: int | None = None
    definition_hash: str | None = None
    cancel_requested: bool = False
    cancel_reason: str | None = None
    dead: bool = False
    acknowledged_at: datetime | None = _ts()
    acknowledged_by: str | None = None
    log_lines: int = 0
    progress_done: float | None = None
    progress_total: float | None = None
    output_dir: str | None = None
    result: str | None = None
    no_retry: bool = False

    @property
    def task(self) -> str:
        """The task's key inside its project."""
        return self.task_key.split("/", 1)[-1]

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class LogChunk(SQLModel, table=True):
    __tablename__ = "log_chunk"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    first_seq: int
    line_count: int
    first_ts: float
    last_ts: float
    max_level: int = 20
    lines: str


class OutputFile(SQLModel, table=True):
    __tablename__ = "output_file"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    path: str
    size: int | None = None
    md5: str | None = None
    stage: str
    delivered_to: str = "[]"
    created_at: datetime = _ts(nullable=False)


class ScheduleState(SQLModel, table=True):
    __tablename__ = "schedule_state"

    schedule_key: str = Field(primary_key=True)
    last_fire: datetime | None = _ts()
    next_fire: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class Fire(SQLModel, table=True):
    __tablename__ = "fire"

    id: int | None = Field(default=None, primary_key=True)
    schedule_key: str
    fire_time: datetime = _ts(nullable=False)
    outcome: str
    reason: str | None = None
    run_id: int | None = Field(default=None, foreign_key="run.id")
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    created_at: datetime = _ts(nullable=False)


class Lease(SQLModel, table=True):
    __tablename__ = "lease"

    name: str = Field(primary_key=True)
    holder: str
    pid: int
    host: str
    started_at: datetime = _ts(nullable=False)
    heartbeat_at: datetime = _ts(nullable=False)


class StateInfo(SQLModel, table=True):
    """Facts about the state file itself, such as its `creation_id`."""

    __tablename__ = "state_info"

    name: str = Field(primary_key=True)
    value: str


class Audit(SQLModel, table=True):
    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = _ts(nullable=False)
    user: str
    action: str
    target: str
    detail: str | None = None
