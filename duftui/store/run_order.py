"""The orders History can sort runs by, and the keyset that pages through each one.

Paging stays keyset-based for every order (no OFFSET, which reads every skipped row): the
next page is "rows after the last one shown", compared as the row value (sort value, id)
against that run's own row, looked up by primary key. NULLs sort as a fixed low value so
the comparison is total (a running run has no duration yet: it sorts as the shortest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, func, literal, select, tuple_

from duftui.store.tables import Run

RUN: Table = Run.__table__  # type: ignore[assignment]


def _expression(table: Table, column: str) -> ColumnElement[Any]:
    c = table.c
    if column == "id":
        return c.id
    if column == "status":
        return c.status
    if column == "task":
        return c.task_key
    if column == "queued":
        return c.queued_at
    if column == "started":
        return func.coalesce(c.started_at, literal(""))
    if column == "took":
        # Rounded to milliseconds: julianday's float noise would otherwise split equal
        # durations and order ties by noise instead of by id.
        seconds = (func.julianday(c.finished_at) - func.julianday(c.started_at)) * 86400.0
        return func.coalesce(func.round(seconds, 3), literal(-1.0))
    if column == "trigger":
        return c.trigger
    if column == "attempt":
        return c.attempt
    if column == "by":
        return func.coalesce(c.requested_by, literal(""))
    if column == "error":
        return func.coalesce(c.error, literal(""))
    raise ValueError(f"runs cannot be sorted by {column!r}; one of: {', '.join(SORTABLE)}")


# The History columns a run list can be sorted by, in the order `o` cycles through them.
SORTABLE = ("queued", "took", "task", "status", "trigger", "by", "error", "started",
            "attempt", "id")
_NUMERIC = frozenset({"queued", "took", "started", "attempt", "id"})


@dataclass(frozen=True)
class RunOrder:
    """A sort column and direction; the default is History's own: newest queued first."""

    column: str = "queued"
    descending: bool = True

    def __post_init__(self) -> None:
        _expression(RUN, self.column)  # refuse an unknown column where the order is made

    @property
    def is_default(self) -> bool:
        return self.column == "queued" and self.descending

    def flipped(self) -> RunOrder:
        return RunOrder(self.column, not self.descending)

    @classmethod
    def first(cls, column: str) -> RunOrder:
        """`column` in the direction one expects first: times and numbers largest first
        (newest, longest), text A to Z."""
        return cls(column, column in _NUMERIC)

    def next_column(self) -> RunOrder:
        """The next column of SORTABLE, in its first direction."""
        index = SORTABLE.index(self.column) if self.column in SORTABLE else -1
        return RunOrder.first(SORTABLE[(index + 1) % len(SORTABLE)])

    def describe(self) -> str:
        return f"{self.column} {'↓' if self.descending else '↑'}"

    def order_by(self) -> list[ColumnElement[Any]]:
        value = _expression(RUN, self.column)
        if self.descending:
            return [value.desc(), RUN.c.id.desc()]
        return [value.asc(), RUN.c.id.asc()]

    def after(self, run_id: int) -> ColumnElement[bool]:
        """Rows that come after run `run_id` in this order (the next page's condition)."""
        last = RUN.alias("last_shown")
        key = select(_expression(last, self.column)).where(last.c.id == run_id)
        last_id = select(last.c.id).where(last.c.id == run_id)
        here = tuple_(_expression(RUN, self.column), RUN.c.id)
        there = tuple_(key.scalar_subquery(), last_id.scalar_subquery())
        return here < there if self.descending else here > there
