"""Firing into the store: one transaction per moment, fire rows, logical time, no double
fire even with two schedulers racing, and nothing fired without the lease."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from duftui.schedule import lease
from duftui.schedule import scheduler as scheduler_module
from duftui.schedule.misfire import QUEUED, PlannedFire
from duftui.schedule.record import Target, record_fires
from duftui.schedule.scheduler import LeaseLost, Scheduler
from duftui.store.db import Store
from tests.conftest import python_env
from tests.engine.conftest import Workspace
from tests.schedule.conftest import sched, utc

T0 = utc(2026, 6, 1, 4, 0)  # 06:00 in Amsterdam
DAY_PARAM = '[params.day]\ndefault = "parse(%Y-%m-%d)"\n'


def command_task(
    ws: Workspace, name: str, schedules: str, extra: str = "", project: str = "p"
) -> str:
    return ws.task(
        name,
        f'name = "{name}"\n{extra}\n[run]\nkind = "command"\ncommand = ["true"]\n{schedules}',
        project=project,
    )


def make(ws: Workspace, now: datetime, **kwargs) -> Scheduler:
    scheduler = Scheduler(ws.store, default_zone=UTC, default_tz_name="UTC", **kwargs)
    scheduler.sync(ws.catalogue(), now)
    return scheduler


def fires(ws: Workspace) -> list[tuple]:
    with ws.store.read() as conn:
        return conn.execute(
            text(
                "SELECT schedule_key, fire_time, outcome, reason, run_id, batch_id FROM fire "
                "ORDER BY fire_time, id"
            )
        ).all()


def run_rows(ws: Workspace) -> list[tuple]:
    with ws.store.read() as conn:
        return conn.execute(
            text(
                "SELECT id, task_key, trigger, schedule_key, logical_time, logical_tz, params, "
                "batch_id FROM run ORDER BY id"
            )
        ).all()


def test_a_fire_queues_a_run_with_the_fire_time_as_logical_time(ws: Workspace) -> None:
    command_task(
        ws,
        "a",
        '[[schedule]]\ncron = "0 6 * * *"\ntimezone = "Europe/Amsterdam"\n'
        '[schedule.params]\nregion = "north"\n',
        extra=DAY_PARAM + '[params.region]\ndefault = "south"\n',
    )
    scheduler = make(ws, T0 - timedelta(minutes=1))
    assert scheduler.next_due() == T0
    assert scheduler.fire_due(T0 - timedelta(seconds=1)) == []
    reports = scheduler.fire_due(T0 + timedelta(milliseconds=2))
    assert [(r.entry.key, [x.outcome for x in r.results]) for r in reports] == [("p/a#0", [QUEUED])]
    (run_id, task, trigger, key, logical, tz, params, batch) = run_rows(ws)[0]
    assert (task, trigger, key, tz) == ("p/a", "schedule", "p/a#0", "Europe/Amsterdam")
    assert datetime.fromisoformat(logical) == T0
    assert json.loads(params) == {"day": "2026-06-01", "region": "north"}
    assert fires(ws) == [
        ("p/a#0", "2026-06-01T04:00:00.000000+00:00", "queued", None, run_id, batch)
    ]
    with ws.store.read() as conn:
        state = conn.execute(text("SELECT last_fire, next_fire FROM schedule_state")).one()
    assert state == ("2026-06-01T04:00:00.000000+00:00", "2026-06-02T04:00:00.000000+00:00")
    assert scheduler.next_due() == T0 + timedelta(days=1)


def test_catch_up_runs_name_the_day_of_their_own_fire(ws: Workspace) -> None:
    command_task(
        ws,
        "a",
        '[[schedule]]\ncron = "0 6 * * *"\ntimezone = "Europe/Amsterdam"\nmisfire = "all"\n',
        extra=DAY_PARAM,
    )
    make(ws, T0 - timedelta(minutes=1))
    later = make(ws, T0 + timedelta(days=2, hours=3))  # a new daemon, two days later
    later.fire_due(T0 + timedelta(days=2, hours=3))
    days = [json.loads(row[6])["day"] for row in run_rows(ws)]
    assert days == ["2026-06-01", "2026-06-02", "2026-06-03"]
    assert [r[2] for r in fires(ws)] == ["queued"] * 3


def test_project_schedule_fires_one_batch_of_its_enabled_tasks(ws: Workspace) -> None:
    command_task(ws, "first", "", extra="rank = 1")
    command_task(ws, "second", "", extra="rank = 2")
    command_task(ws, "off", "", extra="enabled = false")
    (ws.root / "tasks" / "p" / "project.toml").write_text(
        'sequence_tasks = true\n[[schedule]]\nname = "nightly"\ncron = "0 4 * * *"\n'
    )
    scheduler = make(ws, T0 - timedelta(minutes=1))
    scheduler.fire_due(T0)
    rows = run_rows(ws)
    assert [(r[1], r[3]) for r in rows] == [("p/first", "p#nightly")]  # a series: one at a time
    with ws.store.read() as conn:
        plan = json.loads(conn.execute(text("SELECT plan FROM batch")).scalar_one())
    assert plan["tasks"] == ["first", "second"]
    assert fires(ws)[0][2:5] == ("queued", None, rows[0][0])


def test_a_fire_that_cannot_be_queued_is_recorded_with_the_reason(ws: Workspace) -> None:
    command_task(
        ws,
        "bad",
        '[[schedule]]\ncron = "0 4 * * *"\n',
        extra='[params.day]\ndefault = "parse(%Y)"\n',
    )
    command_task(ws, "good", '[[schedule]]\ncron = "0 4 * * *"\n')
    # The loader refuses a template that cannot be expanded, so one is put in place behind
    # its back: the scheduler must still record a fire it cannot queue.
    catalogue = ws.catalogue()
    entry = catalogue.tasks["p/bad"]
    param = entry.spec.params["day"].model_copy(update={"default": "parse(%Y-%Q+1)"})
    entry.spec = entry.spec.model_copy(update={"params": {"day": param}})
    scheduler = Scheduler(ws.store, default_zone=UTC, default_tz_name="UTC")
    scheduler.sync(catalogue, T0 - timedelta(hours=3))
    scheduler.fire_due(T0 + timedelta(hours=2))
    outcomes = {row[0]: (row[2], row[3]) for row in fires(ws)}
    assert outcomes["p/good#0"] == ("queued", "2h late (misfire = coalesce)")
    assert outcomes["p/bad#0"][0] == "error"
    assert "could not queue p/bad" in outcomes["p/bad#0"][1]
    assert [r[1] for r in run_rows(ws)] == ["p/good"]


def test_fire_rows_and_runs_are_one_transaction(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    command_task(ws, "a", '[[schedule]]\ncron = "0 4 * * *"\n')
    scheduler = make(ws, T0 - timedelta(minutes=1))

    def record_then_fail(*args, **kwargs):
        record_fires(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scheduler_module, "record_fires", record_then_fail)
    with pytest.raises(RuntimeError):
        scheduler.fire_due(T0)
    assert fires(ws) == [] and run_rows(ws) == []
    assert scheduler.next_due() == T0  # tried again next time
    monkeypatch.undo()
    scheduler.fire_due(T0)
    assert len(fires(ws)) == 1 and len(run_rows(ws)) == 1


def test_the_unique_constraint_refuses_a_second_record_of_a_fire(ws: Workspace) -> None:
    key = command_task(ws, "a", "")
    target = Target("p/a#0", key, False, sched(cron="0 6 * * *"), "UTC")
    plan = [PlannedFire(T0, QUEUED)]
    catalogue = ws.catalogue()
    with ws.store.write() as conn:
        record_fires(conn, catalogue, target, plan)
    with pytest.raises(IntegrityError), ws.store.write() as conn:
        record_fires(conn, catalogue, target, plan)
    assert len(fires(ws)) == 1 and len(run_rows(ws)) == 1  # the second batch rolled back


def test_two_schedulers_racing_fire_each_fire_once(ws: Workspace) -> None:
    for name in ("a", "b", "c"):
        command_task(ws, name, '[[schedule]]\ncron = "* * * * * *"\n')
    start = T0 - timedelta(seconds=1)
    stores = [Store(ws.store.path) for _ in range(2)]
    schedulers = [Scheduler(s, default_zone=UTC, default_tz_name="UTC") for s in stores]
    for scheduler in schedulers:
        scheduler.sync(ws.catalogue(), start)
    barrier = threading.Barrier(2)
    reports = []

    def race(scheduler: Scheduler) -> None:
        for second in range(20):
            barrier.wait()
            reports.extend(scheduler.fire_due(T0 + timedelta(seconds=second)))

    threads = [threading.Thread(target=race, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    rows = fires(ws)
    assert len(rows) == 3 * 20 == len({(r[0], r[1]) for r in rows})
    assert len(run_rows(ws)) == 60
    assert any(r.conflict for r in reports)  # the loser noticed and moved on


def test_fire_at_takes_the_lock_before_the_fire_and_yields_to_a_fire_already_recorded(
    ws: Workspace,
) -> None:
    for name in ("a", "b"):
        command_task(ws, name, '[[schedule]]\ncron = "* * * * * *"\n')
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    stores = [Store(ws.store.path) for _ in range(2)]
    try:
        first, second = (Scheduler(s, default_zone=UTC, default_tz_name="UTC") for s in stores)
        for scheduler in (first, second):
            scheduler.sync(ws.catalogue(), due - timedelta(seconds=1))
        first.fire_due(due)  # another daemon got there first
        reports = second.fire_at(due.timestamp())
        assert time.time() >= due.timestamp()  # it waited for the fire time
    finally:
        for store in stores:
            store.close()
    assert sorted(r.entry.key for r in reports if r.conflict) == ["p/a#0", "p/b#0"]
    assert len(fires(ws)) == 2 and len(run_rows(ws)) == 2
    assert second.next_due() == due + timedelta(seconds=1)  # and it moved on


RACER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timedelta, UTC
    from pathlib import Path
    from duftui.definitions.loader import load_workspace
    from duftui.schedule.scheduler import Scheduler
    from duftui.store.db import Store
    root, t0, go = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), float(sys.argv[3])
    scheduler = Scheduler(Store(root / ".duftui" / "state.db"), default_zone=UTC,
                          default_tz_name="UTC")
    scheduler.sync(load_workspace(root), t0 - timedelta(seconds=1))
    while time.time() < go:
        time.sleep(0.001)
    for second in range(10):
        scheduler.fire_due(t0 + timedelta(seconds=second))
""")


def test_two_processes_racing_fire_each_fire_once(ws: Workspace) -> None:
    for name in ("a", "b"):
        command_task(ws, name, '[[schedule]]\ncron = "* * * * * *"\n')
    ws.store  # noqa: B018 - create the state file before the racers open it
    go = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(ws.root), T0.isoformat(), str(go)],
            env=python_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    rows = fires(ws)
    assert len(rows) == 20 == len({(r[0], r[1]) for r in rows})
    assert len(run_rows(ws)) == 20


def test_nothing_fires_without_the_lease(ws: Workspace) -> None:
    command_task(ws, "a", '[[schedule]]\ncron = "0 4 * * *"\n')
    with ws.store.write() as conn:
        lease.acquire(conn, holder="me")
    scheduler = make(ws, T0 - timedelta(minutes=1), holder="me")
    with ws.store.write() as conn:
        conn.execute(text("UPDATE lease SET holder = 'someone-else'"))
    with pytest.raises(LeaseLost):
        scheduler.fire_due(T0)
    assert fires(ws) == [] and run_rows(ws) == []
    assert scheduler.next_due() == T0


def test_state_files_are_not_shared_between_workspaces(tmp_path: Path) -> None:
    one, two = Workspace(tmp_path / "one"), Workspace(tmp_path / "two")
    for ws in (one, two):
        command_task(ws, "a", '[[schedule]]\ncron = "0 4 * * *"\n')
        make(ws, T0 - timedelta(minutes=1)).fire_due(T0)
        assert len(fires(ws)) == 1
        ws.close()
