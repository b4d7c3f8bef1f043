"""Run rows: insert, fetch, filter, page; cancel and acknowledge; the audit trail and
output files."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, and_, select, update

from duftui.store import audit
from duftui.store.db import Store
from duftui.store.outputs import add_delivery, outputs_of, record_output
from duftui.store.runs import (
    RUN,
    RunFilter,
    acknowledge,
    count_runs,
    get_run,
    insert_batch,
    insert_run,
    last_runs_by_task,
    list_runs,
    request_cancel,
)
from duftui.store.states import ACTIVE_STATUSES, RunStatus, Stage, Trigger
from duftui.store.tables import Run
from tests.store.factories import T0, add_run

TASKS = ["clinic/extract", "clinic/load", "finance/ledger", "hr/staff"]


def ids(runs: Sequence[Run]) -> list[int]:
    return [run.id for run in runs if run.id is not None]


def test_insert_and_get(store: Store) -> None:
    with store.write() as conn:
        batch = insert_batch(conn, project="clinic", trigger=Trigger.SCHEDULE, plan={"a": 1})
        run_id = insert_run(
            conn,
            task_key="clinic/extract",
            trigger=Trigger.MANUAL,
            requested_by="alice",
            params={"start_date": "2026-11-01", "limit": 5},
            batch_id=batch,
            max_attempts=3,
            schedule_key="clinic/extract#0",
            logical_time=T0,
            definition_hash="abc",
        )
    with store.read() as conn:
        run = get_run(conn, run_id)
        assert get_run(conn, run_id + 100) is None
    assert run is not None
    assert (run.task_key, run.project, run.task) == ("clinic/extract", "clinic", "extract")
    assert run.status == RunStatus.QUEUED and run.trigger == Trigger.MANUAL
    assert run.requested_by == "alice" and run.batch_id == batch
    assert json.loads(run.params) == {"limit": 5, "start_date": "2026-11-01"}
    assert (run.attempt, run.max_attempts) == (1, 3)
    assert run.logical_time == T0
    assert run.queued_at.tzinfo is not None
    assert run.finished_at is None and run.duration_s is None
    assert run.cancel_requested is False and run.dead is False


def test_a_run_inserted_finished_gets_a_finish_time(store: Store) -> None:
    with store.write() as conn:
        skipped = insert_run(conn, task_key="a/b", trigger="dependency", status=RunStatus.SKIPPED)
        failed = insert_run(conn, task_key="a/c", trigger="cli", status="failed", error="boom")  # type: ignore[arg-type]
    with store.read() as conn:
        for run_id in (skipped, failed):
            run = get_run(conn, run_id)
            assert run is not None and run.finished_at is not None
    assert run.status == "failed" and run.error == "boom"


def _history(conn: Connection) -> dict[str, int]:
    """A small, varied history; returns a few ids by name."""
    named: dict[str, int] = {}
    batch = insert_batch(conn, project="clinic", trigger=Trigger.SCHEDULE)
    for n in range(40):
        task = TASKS[n % len(TASKS)]
        status = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.QUEUED][n % 4]
        trigger = [
            Trigger.SCHEDULE,
            Trigger.MANUAL,
            Trigger.RETRY,
            Trigger.CLI,
            Trigger.DEPENDENCY,
        ][n % 5]
        run_id = add_run(
            conn,
            task,
            status=status,
            trigger=trigger,
            batch_id=batch if n % 3 == 0 and task.startswith("clinic") else None,
            queued_at=T0 + timedelta(minutes=n),
            dead=n in (5, 9, 13),
            acknowledged_at=T0 if n == 13 else None,
        )
        named[f"run{n}"] = run_id
    named["batch"] = batch
    return named


def test_every_filter_field(store: Store) -> None:
    with store.write() as conn:
        named = _history(conn)
    with store.read() as conn:
        everything = list_runs(conn, limit=1000)
        assert len(everything) == 40

        def check(flt: RunFilter, keep) -> None:  # type: ignore[no-untyped-def]
            expected = [run.id for run in everything if keep(run)]
            assert ids(list_runs(conn, flt, limit=1000)) == expected, flt
            assert count_runs(conn, flt) == len(expected)

        check(RunFilter(task_key="clinic/load"), lambda r: r.task_key == "clinic/load")
        check(RunFilter(project="clinic"), lambda r: r.project == "clinic")
        check(
            RunFilter(statuses=["failed", RunStatus.RUNNING]),
            lambda r: r.status in ("failed", "running"),
        )
        check(RunFilter(triggers=[Trigger.RETRY]), lambda r: r.trigger == "retry")
        since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
        check(RunFilter(since=since), lambda r: r.queued_at >= since)
        check(RunFilter(until=until), lambda r: r.queued_at < until)
        check(RunFilter(since=since, until=until), lambda r: since <= r.queued_at < until)
        local = since.astimezone(timezone(timedelta(hours=-5)))
        check(RunFilter(since=local), lambda r: r.queued_at >= since)
        check(RunFilter(batch_id=named["batch"]), lambda r: r.batch_id == named["batch"])
        check(RunFilter(dead=True), lambda r: r.id in (named["run5"], named["run9"]))
        check(RunFilter(dead=False), lambda r: not r.dead)
        wanted = [named["run3"], named["run7"], named["run30"]]
        check(RunFilter(run_ids=wanted), lambda r: r.id in wanted)
        check(
            RunFilter(project="clinic", statuses=["succeeded"], triggers=["schedule"]),
            lambda r: r.project == "clinic" and r.status == "succeeded" and r.trigger == "schedule",
        )
        check(RunFilter(task_key="nobody/nothing"), lambda r: False)
        assert ids(list_runs(conn, limit=3)) == ids(everything)[:3]


def test_keyset_paging_returns_every_run_once_in_order(store: Store) -> None:
    rng = random.Random(3)
    total = 3_000
    with store.write() as conn:
        run_ids = [
            insert_run(conn, task_key=rng.choice(TASKS), trigger="cli") for _ in range(total)
        ]
        # Many runs share a queued_at, and queued order is not id order.
        times = [T0 + timedelta(seconds=rng.randrange(400)) for _ in run_ids]
        for run_id, at in zip(run_ids, times, strict=True):
            conn.execute(update(RUN).where(RUN.c.id == run_id).values(queued_at=at))
    expected = [run_id for _at, run_id in sorted(zip(times, run_ids, strict=True), reverse=True)]
    for flt, want in (
        (None, expected),
        (RunFilter(task_key="clinic/load"), None),
        (RunFilter(statuses=["queued"], project="clinic"), None),
    ):
        seen: list[int] = []
        before = None
        with store.read() as conn:
            while page := list_runs(conn, flt, limit=97, before=before):
                seen.extend(ids(page))
                before = (page[-1].queued_at, page[-1].id)
            full = count_runs(conn, flt)
        if want is None:
            with store.read() as conn:
                want = ids(list_runs(conn, flt, limit=total))
        assert seen == want
        assert len(seen) == len(set(seen)) == full


def test_last_run_of_each_task(store: Store) -> None:
    rng = random.Random(5)
    with store.write() as conn:
        for _ in range(300):
            add_run(conn, rng.choice(TASKS), queued_at=T0 + timedelta(seconds=rng.randrange(60)))
    with store.read() as conn:
        everything = list_runs(conn, limit=1000)
        latest = last_runs_by_task(conn)
    expected: dict[str, Run] = {}
    for run in everything:  # newest first, ties broken by the higher id
        expected.setdefault(run.task_key, run)
    assert {key: run.id for key, run in latest.items()} == {
        key: run.id for key, run in expected.items()
    }
    assert all(isinstance(run.queued_at, datetime) for run in latest.values())
    with store.read() as conn:
        conn.exec_driver_sql("DELETE FROM run")
        assert last_runs_by_task(conn) == {}


def test_cancel_is_only_for_active_runs(store: Store) -> None:
    with store.write() as conn:
        by_status = {status: add_run(conn, status=status) for status in RunStatus}
    with store.write() as conn:
        answers = {
            status: request_cancel(conn, run_id, "operator said so")
            for status, run_id in by_status.items()
        }
        assert request_cancel(conn, 10_000, "no such run") is False
    assert {s for s, done in answers.items() if done} == set(ACTIVE_STATUSES)
    with store.read() as conn:
        for status, run_id in by_status.items():
            run = get_run(conn, run_id)
            assert run is not None
            assert run.cancel_requested is (status in ACTIVE_STATUSES)
            assert run.cancel_reason == ("operator said so" if status in ACTIVE_STATUSES else None)


def test_only_dead_unacknowledged_runs_can_be_acknowledged(store: Store) -> None:
    with store.write() as conn:
        dead = add_run(conn, status=RunStatus.FAILED, dead=True)
        alive = add_run(conn, status=RunStatus.FAILED)
    with store.write() as conn:
        assert acknowledge(conn, alive, "bob") is False
        assert acknowledge(conn, dead, "bob") is True
        assert acknowledge(conn, dead, "carol") is False
        assert acknowledge(conn, 10_000, "bob") is False
    with store.read() as conn:
        run = get_run(conn, dead)
        assert run is not None and run.acknowledged_by == "bob" and run.acknowledged_at is not None
        assert count_runs(conn, RunFilter(dead=True)) == 0


# -- the streaming export's SQL text and the ORM filter agree ------------------------------

_ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
_when = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(2026, 11, 23, 7), max_value=datetime(2026, 11, 23, 10)).flatmap(
        lambda d: st.sampled_from([d, *(d.replace(tzinfo=z) for z in _ZONES)])
    ),
)
_filters = st.builds(
    RunFilter,
    task_key=st.one_of(st.none(), st.just(""), st.sampled_from([*TASKS, "x/y"])),
    project=st.one_of(st.none(), st.sampled_from(["clinic", "finance", "hr", "zzz"])),
    statuses=st.lists(st.sampled_from([*RunStatus, *(s.value for s in RunStatus)]), max_size=3),
    triggers=st.lists(st.sampled_from([*Trigger, *(t.value for t in Trigger)]), max_size=2),
    since=_when,
    until=_when,
    batch_id=st.one_of(st.none(), st.integers(1, 3)),
    dead=st.one_of(st.none(), st.booleans()),
    run_ids=st.lists(st.integers(1, 60), max_size=5),
)
_runs = st.lists(
    st.tuples(
        st.sampled_from(TASKS),
        st.sampled_from(list(RunStatus)),
        st.sampled_from(list(Trigger)),
        st.integers(0, 3 * 3600 * 1_000_000),
        st.one_of(st.none(), st.integers(1, 3)),
        st.booleans(),
        st.booleans(),
    ),
    max_size=40,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=_runs, filters=st.lists(_filters, min_size=1, max_size=4))
def test_raw_where_selects_what_clauses_select(
    store: Store, runs: list[tuple], filters: list[RunFilter]
) -> None:
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM output_file")
        conn.exec_driver_sql("DELETE FROM run")
        conn.exec_driver_sql("DELETE FROM batch")
        conn.exec_driver_sql("DELETE FROM sqlite_sequence")
        for _ in range(3):
            insert_batch(conn, project="clinic", trigger="schedule")
        for task, status, trigger, micros, batch, dead, acked in runs:
            add_run(
                conn,
                task,
                status=status,
                trigger=trigger,
                batch_id=batch,
                queued_at=datetime(2026, 11, 23, 7, tzinfo=UTC) + timedelta(microseconds=micros),
                dead=dead,
                acknowledged_at=T0 if acked else None,
            )
    with store.read() as conn:
        for flt in filters:
            clauses = flt.clauses()
            query = select(RUN.c.id).order_by(RUN.c.id)
            if clauses:
                query = query.where(and_(*clauses))
            by_orm = conn.execute(query).scalars().all()
            where, params = flt.raw_where()
            by_text = (
                conn.exec_driver_sql(
                    f"SELECT run.id FROM run WHERE {where} ORDER BY run.id", tuple(params)
                )
                .scalars()
                .all()
            )
            assert by_text == by_orm, (flt, where, params)
            assert count_runs(conn, flt) == len(by_orm)


# -- audit trail and output files ---------------------------------------------------------


def test_audit_records_newest_first(store: Store) -> None:
    with store.write() as conn:
        audit.record(conn, "run", "clinic/extract", {"params": {"b": 2, "a": 1}}, user="alice")
        audit.record(conn, "cancel", "run 7", "too slow")
        audit.record(conn, "edit", "tasks/clinic/extract.toml")
    with store.read() as conn:
        recent = audit.recent(conn)
        assert [a.action for a in audit.recent(conn, limit=2)] == ["edit", "cancel"]
    assert [(a.action, a.target) for a in recent] == [
        ("edit", "tasks/clinic/extract.toml"),
        ("cancel", "run 7"),
        ("run", "clinic/extract"),
    ]
    assert recent[2].user == "alice" and recent[1].user == audit.current_user()
    assert recent[2].detail == '{"params": {"a": 1, "b": 2}}'
    assert recent[1].detail == "too slow" and recent[0].detail is None
    assert all(a.ts.tzinfo is not None for a in recent)
    assert recent[0].ts >= recent[2].ts


def test_outputs_with_md5_and_deliveries(store: Store, tmp_path: Path) -> None:
    data = "id,name\n1,Zoë\n".encode() * 100_000
    produced = tmp_path / "clinic_20261123.csv"
    produced.write_bytes(data)
    with store.write() as conn:
        run_id = add_run(conn)
        first = record_output(conn, run_id, produced, Stage.OUTPUT)
        given_ = record_output(
            conn, run_id, tmp_path / "elsewhere.zip", Stage.PROCESSED, size=3, md5="d41d"
        )
        missing = record_output(conn, run_id, tmp_path / "gone.csv", Stage.SOURCE)
        add_delivery(conn, first, "sftp://clinic/in")
        add_delivery(conn, first, "sftp://clinic/in")
        add_delivery(conn, first, "smb://archive/2026")
        add_delivery(conn, 10_000, "nowhere")
    with store.read() as conn:
        outputs = outputs_of(conn, run_id)
        assert outputs_of(conn, run_id + 1) == []
    assert [o.id for o in outputs] == [first, given_, missing]
    out = outputs[0]
    assert out.size == len(data) and out.md5 == hashlib.md5(data).hexdigest()
    assert out.stage == "output" and out.path == str(produced)
    assert json.loads(out.delivered_to) == ["sftp://clinic/in", "smb://archive/2026"]
    assert (outputs[1].size, outputs[1].md5, outputs[1].stage) == (3, "d41d", "processed")
    assert (outputs[2].size, outputs[2].md5) == (None, None)
    assert json.loads(outputs[2].delivered_to) == []


def test_an_output_needs_its_run(store: Store, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"), store.write() as conn:
        record_output(conn, 10_000, tmp_path / "x.csv", Stage.OUTPUT)
