"""Versioned schema migrations, tracked in SQLite's `PRAGMA user_version`.

Each migration is plain SQL applied inside one `BEGIN IMMEDIATE` transaction together with
the version bump, so a crash leaves the schema either before or after it, never between.
Nothing is ever dropped silently; a state file from a newer duftui is refused.
"""

from __future__ import annotations

import sqlite3

V1 = """
CREATE TABLE batch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    trigger TEXT NOT NULL,
    schedule_key TEXT,
    logical_time TEXT,
    requested_by TEXT NOT NULL DEFAULT '',
    root_task TEXT,
    plan TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX ix_batch_project_created ON batch (project, created_at);

CREATE TABLE run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_key TEXT NOT NULL,
    project TEXT NOT NULL,
    batch_id INTEGER REFERENCES batch (id),
    attempt INTEGER NOT NULL DEFAULT 1,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    retry_of INTEGER REFERENCES run (id),
    trigger TEXT NOT NULL,
    requested_by TEXT NOT NULL DEFAULT '',
    schedule_key TEXT,
    logical_time TEXT,
    logical_tz TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    not_before TEXT,
    started_at TEXT,
    finished_at TEXT,
    exit_code INTEGER,
    error TEXT,
    pid INTEGER,
    pid_started REAL,
    host TEXT,
    supervisor TEXT,
    cpu_user_s REAL,
    cpu_sys_s REAL,
    max_rss_kb INTEGER,
    definition_hash TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    cancel_reason TEXT,
    dead INTEGER NOT NULL DEFAULT 0,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    log_lines INTEGER NOT NULL DEFAULT 0,
    progress_done REAL,
    progress_total REAL,
    output_dir TEXT
);
CREATE INDEX ix_run_task_queued ON run (task_key, queued_at);
CREATE INDEX ix_run_project_queued ON run (project, queued_at);
CREATE INDEX ix_run_status_queued ON run (status, queued_at);
CREATE INDEX ix_run_batch ON run (batch_id);
CREATE INDEX ix_run_queued ON run (queued_at);
CREATE INDEX ix_run_retry_of ON run (retry_of);
CREATE INDEX ix_run_dead ON run (dead) WHERE dead = 1;

CREATE TABLE log_chunk (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    first_ts REAL NOT NULL,
    last_ts REAL NOT NULL,
    max_level INTEGER NOT NULL DEFAULT 20,
    lines TEXT NOT NULL,
    UNIQUE (run_id, first_seq)
);

CREATE TABLE output_file (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER,
    md5 TEXT,
    stage TEXT NOT NULL,
    delivered_to TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);
CREATE INDEX ix_output_file_run ON output_file (run_id);

CREATE TABLE schedule_state (
    schedule_key TEXT NOT NULL PRIMARY KEY,
    last_fire TEXT,
    next_fire TEXT,
    updated_at TEXT
);

CREATE TABLE fire (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_key TEXT NOT NULL,
    fire_time TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    run_id INTEGER REFERENCES run (id),
    batch_id INTEGER REFERENCES batch (id),
    created_at TEXT NOT NULL,
    UNIQUE (schedule_key, fire_time)
);

CREATE TABLE lease (
    name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX ix_audit_ts ON audit (ts);
"""

# The state file's creation id: run folders are keyed by it plus the run id, so a new
# state file (deleted, or a fresh --db) never reuses the folders of an older one whose
# run ids it repeats. A file made before this version gets its id when it is migrated.
V2 = """
CREATE TABLE state_info (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO state_info (name, value)
    VALUES ('creation_id', strftime('%Y%m%d', 'now') || '-' || lower(hex(randomblob(4))));
"""

# Pruning: a deleted run's fires are found by run and batch, old fires by their time.
# A run's result (duftui.task.result) and a task's own "do not retry" (duftui.task.fail).
V3 = """
CREATE INDEX ix_fire_run ON fire (run_id);
CREATE INDEX ix_fire_batch ON fire (batch_id);
CREATE INDEX ix_fire_time ON fire (fire_time);
ALTER TABLE run ADD COLUMN result TEXT;
ALTER TABLE run ADD COLUMN no_retry INTEGER NOT NULL DEFAULT 0;
"""

MIGRATIONS: list[tuple[int, str]] = [(1, V1), (2, V2), (3, V3)]
LATEST = MIGRATIONS[-1][0]


class StateFileError(Exception):
    """The state file cannot be opened or is not one; the message says which file and
    what to do."""


class SchemaTooNew(StateFileError):
    """The state file was written by a newer duftui."""


def creation_id(conn: sqlite3.Connection) -> str:
    """The id this state file got when it was created (or first migrated to version 2)."""
    row = conn.execute("SELECT value FROM state_info WHERE name = 'creation_id'").fetchone()
    if row is None:
        raise LookupError("the state file has no creation id")
    return str(row[0])


def current_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to LATEST; `conn` must be in autocommit mode. Returns the version."""
    version = current_version(conn)
    if version > LATEST:
        raise SchemaTooNew(
            f"this state file has schema version {version}, but this duftui knows only up "
            f"to {LATEST}; upgrade duftui (pip install -U duftui) or use another --db"
        )
    for number, script in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have migrated meanwhile.
            if current_version(conn) >= number:
                conn.execute("COMMIT")
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current_version(conn)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
