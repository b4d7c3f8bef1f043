"""The audit trail: who did what to which run or definition, and when."""

from __future__ import annotations

import getpass
import json
from typing import Any

from sqlalchemy import Connection, select

from duftui.store.db import driver
from duftui.store.tables import Audit
from duftui.store.timestamps import to_iso, utcnow

AUDIT = Audit.__table__


def current_user() -> str:
    """The OS user acting (what "My tasks" filters on and the audit records)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record(
    conn: Connection,
    action: str,
    target: str,
    detail: dict[str, Any] | str | None = None,
    user: str | None = None,
) -> None:
    if isinstance(detail, dict):
        detail = json.dumps(detail, sort_keys=True, default=str)
    driver(conn).execute(  # on the path of every manual run: see runs.py
        "INSERT INTO audit (ts, user, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (to_iso(utcnow()), user or current_user(), action, target, detail),
    )


def recent(conn: Connection, limit: int = 100) -> list[Audit]:
    rows = conn.execute(select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)).mappings()
    return [Audit.model_validate(dict(row)) for row in rows]
