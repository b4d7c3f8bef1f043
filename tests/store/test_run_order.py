"""Sorting History by any column: every order pages through every run exactly once, in the
order Python's own sort of the same rows gives, with NULLs (no duration, no error) in
their fixed place."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from duftui.store.db import Store
from duftui.store.run_order import SORTABLE, RunOrder
from duftui.store.runs import RUN, RunFilter, count_runs, insert_run, list_runs
from duftui.store.tables import Run
from tests.store.factories import T0

TASKS = ["clinic/extract", "clinic/load", "lab/daily", "lab/weekly", "zeta/one"]
STATUSES = ["succeeded", "failed", "running", "queued", "cancelled"]


@pytest.fixture
def sorted_store(tmp_path: Any) -> Store:
    rng = random.Random(11)
    store = Store(tmp_path / "state.db")
    with store.write() as conn:
        for _ in range(640):
            run_id = insert_run(conn, task_key=rng.choice(TASKS), trigger=rng.choice(
                ["cli", "schedule", "console", "retry"]))
            queued = T0 + timedelta(seconds=rng.randrange(300))  # many ties
            status = rng.choice(STATUSES)
            values: dict[str, Any] = {"queued_at": queued, "status": status,
                                      "attempt": rng.randrange(1, 4),
                                      "requested_by": rng.choice(["", "ana", "bo"]),
                                      "error": rng.choice([None, "boom", "disk full", ""])}
            if status != "queued":
                values["started_at"] = queued + timedelta(seconds=rng.randrange(5))
            if status not in ("queued", "running"):
                values["finished_at"] = values["started_at"] + timedelta(
                    milliseconds=rng.choice([0, 250, 1500, 61_000, 250]))
            conn.execute(update(RUN).where(RUN.c.id == run_id).values(**values))
    yield store
    store.close()


def python_key(column: str, run: Run) -> Any:
    if column == "took":
        if run.started_at is None or run.finished_at is None:
            return -1.0
        return round((run.finished_at - run.started_at).total_seconds(), 3)
    return {
        "id": run.id, "status": run.status, "task": run.task_key, "queued": run.queued_at,
        "started": run.started_at.isoformat() if run.started_at else "",
        "trigger": run.trigger, "attempt": run.attempt, "by": run.requested_by or "",
        "error": run.error or "",
    }[column]


def page_through(store: Store, order: RunOrder, flt: RunFilter | None = None) -> list[Run]:
    seen: list[Run] = []
    after = None
    with store.read() as conn:
        while page := list_runs(conn, flt, limit=53, order=order, after=after):
            seen.extend(page)
            after = page[-1].id
    return seen


@pytest.mark.parametrize("column", SORTABLE)
@pytest.mark.parametrize("descending", [True, False])
def test_every_order_pages_through_each_run_once_in_order(
    sorted_store: Store, column: str, descending: bool
) -> None:
    order = RunOrder(column, descending)
    seen = page_through(sorted_store, order)
    ids = [r.id for r in seen]
    assert len(ids) == len(set(ids)) == 640
    expected = sorted(seen, key=lambda r: (python_key(column, r), r.id), reverse=descending)
    assert ids == [r.id for r in expected]


def test_a_sorted_filter_pages_only_its_runs(sorted_store: Store) -> None:
    flt = RunFilter(project="lab", statuses=["failed", "succeeded"])
    seen = page_through(sorted_store, RunOrder("took", True), flt)
    with sorted_store.read() as conn:
        assert len(seen) == count_runs(conn, flt) > 53
    assert all(r.project == "lab" and r.status in ("failed", "succeeded") for r in seen)
    took = [python_key("took", r) for r in seen]
    assert took == sorted(took, reverse=True) and took[0] == 61.0


def test_the_default_order_is_newest_queued_first(sorted_store: Store) -> None:
    with sorted_store.read() as conn:
        assert [r.id for r in list_runs(conn, limit=640)] == [
            r.id for r in page_through(sorted_store, RunOrder())
        ]
    assert RunOrder().is_default and not RunOrder("queued", False).is_default


def test_an_unknown_column_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"cannot be sorted by 'secret'.*queued, took"):
        RunOrder("secret")


def test_o_cycles_through_every_column_and_back() -> None:
    order, seen = RunOrder(), []
    for _ in SORTABLE:
        order = order.next_column()
        seen.append(order.column)
    assert seen[-1] == "queued" and sorted(seen) == sorted(SORTABLE)
    assert RunOrder.first("took").descending and not RunOrder.first("task").descending
