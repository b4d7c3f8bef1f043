"""`duftui explain`: each reason a task did not run, read from a real state file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from duftui.engine.submit import submit_task
from duftui.schedule import lease
from duftui.schedule.misfire import SKIPPED, PlannedFire
from duftui.schedule.record import Target, record_fires
from duftui.store.timestamps import to_iso
from tests.conftest import Cli
from tests.engine.conftest import Workspace
from tests.schedule.conftest import sched

TRUE = '[run]\nkind = "command"\ncommand = ["true"]\n'


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


def kinds(ws: Workspace, task: str, *args: str) -> dict[str, dict]:
    result = Cli(ws.root)("explain", task, "--json", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return {reason["kind"]: reason for reason in data["reasons"]}


def sql(ws: Workspace, statement: str, **params: object) -> None:
    with ws.store.write() as conn:
        conn.execute(text(statement), params)


def live_daemon(ws: Workspace) -> None:
    with ws.store.write() as conn:
        lease.acquire(conn)


def test_no_daemon_and_the_next_fire(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}[[schedule]]\ncron = "30 6 * * *"\ntimezone = "UTC"\n')
    found = kinds(ws, "p/a")
    assert found["no_daemon"]["blocking"]
    assert "no daemon is running, so no schedule fires" in found["no_daemon"]["text"]
    assert found["next_fire"]["text"].startswith("schedule p/a#0 (cron 30 6 * * * (UTC)) fires next at ")
    assert found["next_fire"]["at"].endswith("06:30:00+00:00")
    assert "never_ran" in found


def test_a_stale_lease_is_named(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    live_daemon(ws)
    assert "daemon" in kinds(ws, "p/a")
    sql(ws, "UPDATE lease SET heartbeat_at = :t", t=to_iso(datetime.now(UTC) - timedelta(hours=1)))
    found = kinds(ws, "p/a")
    assert found["stale_daemon"]["blocking"]
    assert "the daemon's lease is stale" in found["stale_daemon"]["text"]
    assert "no_schedule" in found


def test_disabled_and_broken_definitions(ws: Workspace) -> None:
    ws.task("off", f'name = "off"\nenabled = false\n{TRUE}')
    ws.task("bad", 'name = "bad"\n[run]\nkind = "rocket"\n')
    assert kinds(ws, "p/off")["disabled"]["blocking"]
    broken = kinds(ws, "p/bad")["broken"]
    assert broken["text"].startswith("the definition is broken: tasks/p/bad.toml:3: run.kind:")


def test_a_fire_skipped_by_the_misfire_policy(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}[[schedule]]\ncron = "30 6 * * *"\nmisfire = "skip"\n')
    fired = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    with ws.store.write() as conn:
        record_fires(conn, ws.catalogue(), Target("p/a#0", "p/a", False,
                                                   sched(cron="30 6 * * *"), "UTC"),
                     [PlannedFire(fired, SKIPPED, "missed by 3h (grace 30s); misfire = skip")])
    found = kinds(ws, "p/a")
    assert found["fire_skipped"]["text"].endswith(
        "was skipped: missed by 3h (grace 30s); misfire = skip")
    at = kinds(ws, "p/a", "--at", fired.isoformat())
    assert "fire_skipped" in at
    empty = kinds(ws, "p/a", "--at", (fired - timedelta(days=3)).isoformat())
    assert "no_fire_recorded" in empty


def test_a_pending_retry_and_a_running_run(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    queued = submit_task(ws.store, ws.catalogue(), "p/a").run_ids[0]
    later = datetime.now(UTC) + timedelta(minutes=10)
    sql(ws, "UPDATE run SET attempt = 2, max_attempts = 3, not_before = :t WHERE id = :i",
        t=to_iso(later), i=queued)
    found = kinds(ws, "p/a")
    assert f"run #{queued} (attempt 2 of 3) waits until " in found["retry_pending"]["text"]
    sql(ws, "UPDATE run SET status = 'running', not_before = NULL WHERE id = :i", i=queued)
    assert f"run #{queued} is running now" == kinds(ws, "p/a")["running"]["text"]


def test_waiting_for_overlap_project_limit_and_slots(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    ws.task("b", f'name = "b"\n{TRUE}')
    first = submit_task(ws.store, ws.catalogue(), "p/a").run_ids[0]
    second = submit_task(ws.store, ws.catalogue(), "p/a").run_ids[0]
    sql(ws, "UPDATE run SET status = 'running' WHERE id = :i", i=first)
    assert "another run of this task is running" in kinds(ws, "p/a")["waiting_overlap"]["text"]

    (ws.root / "tasks" / "p" / "project.toml").write_text("max_parallel = 1\n")
    waiting_b = submit_task(ws.store, ws.catalogue(), "p/b").run_ids[0]
    found = kinds(ws, "p/b")
    assert found["waiting_project_limit"]["text"] == (
        f"run #{waiting_b} waits: project p already runs 1 (max_parallel = 1)")
    (ws.root / "tasks" / "p" / "project.toml").write_text("")
    ws.task("c", f'name = "c"\n{TRUE}', project="q")
    for _ in range(64):
        extra = submit_task(ws.store, ws.catalogue(), "p/b").run_ids[0]
        sql(ws, "UPDATE run SET status = 'running' WHERE id = :i", i=extra)
    waiting_c = submit_task(ws.store, ws.catalogue(), "q/c").run_ids[0]
    slot = kinds(ws, "q/c")["waiting_slot"]["text"]
    assert slot.startswith(f"run #{waiting_c} waits for a slot: 65 runs are running")
    assert second != waiting_c


def test_waiting_on_a_parent(ws: Workspace) -> None:
    ws.task("load", f'name = "load"\n{TRUE}')
    ws.task("report", f'name = "report"\nneeds = ["load"]\n{TRUE}')
    submit_task(ws.store, ws.catalogue(), "p/load")
    found = kinds(ws, "p/report")
    assert found["waiting_parent"]["text"].endswith("queues it once p/load succeeded")


def test_an_unknown_task_exits_4(ws: Workspace) -> None:
    result = Cli(ws.root)("explain", "p/nope")
    assert result.exit_code == 4
    assert "no task 'p/nope'" in result.stderr


def test_plain_text_marks_what_blocks(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\nenabled = false\n{TRUE}')
    out = Cli(ws.root)("explain", "p/a").stdout.splitlines()
    assert out[0] == "p/a:"
    assert out[1].startswith("  ! it is disabled (enabled = false)")
