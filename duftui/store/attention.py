"""Which runs still need a person (no Textual here): the ids of every dead run nobody
acknowledged, for "acknowledge all" in the console (and any later CLI command)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def unacknowledged_dead(conn: Connection, limit: int = 100_000) -> list[int]:
    """Newest first; `dead = 1` lets SQLite use the partial index on dead runs."""
    rows = conn.execute(
        text(
            "SELECT id FROM run WHERE dead = 1 AND acknowledged_at IS NULL "
            "ORDER BY queued_at DESC, id DESC LIMIT :n"
        ),
        {"n": limit},
    )
    return [int(row[0]) for row in rows]
