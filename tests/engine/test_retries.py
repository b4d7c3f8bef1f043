"""Retries with backoff, dead runs, cancel retry, retry now."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from duftui.definitions.models import Retry
from duftui.engine.backoff import retry_delay
from duftui.engine.control import ControlError, cancel_retry, retry_now
from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace, duftui

FLAKY = """
    import os, sys
    from pathlib import Path
    counter = Path(os.environ["DUFTUI_WORKSPACE"]) / "count.txt"
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    print("attempt", n, "env attempt", os.environ["DUFTUI_ATTEMPT"])
    sys.exit(0 if n >= int(os.environ.get("SUCCEED_AT", "99")) else 1)
"""


def flaky(ws: Workspace, attempts: int, delay: str, succeed_at: int) -> str:
    return ws.task("flaky", f"""
        name = "flaky"
        [run]
        kind = "python"
        file = "scripts/flaky.py"
        env = {{ SUCCEED_AT = "{succeed_at}" }}
        [retry]
        attempts = {attempts}
        delay = "{delay}"
        backoff = 2.0
        jitter = false
        """, FLAKY)


def test_backoff_grows_is_capped_and_jitters_within_bounds() -> None:
    retry = Retry(attempts=5, delay=timedelta(seconds=10), backoff=3.0,
                  max_delay=timedelta(seconds=60), jitter=False)
    assert [retry_delay(retry, n).total_seconds() for n in (1, 2, 3, 4)] == [10, 30, 60, 60]
    jittered = Retry(attempts=5, delay=timedelta(seconds=10), backoff=1.0, jitter=True)
    rng = random.Random(7)
    values = [retry_delay(jittered, 1, rng).total_seconds() for _ in range(200)]
    assert min(values) >= 5 and max(values) <= 10 and len(set(values)) > 100


def test_failed_runs_are_retried_with_backoff_until_success(ws: Workspace) -> None:
    key = flaky(ws, attempts=3, delay="300ms", succeed_at=3)
    submitted = ws.submit(key)
    ws.supervise(batch_id=submitted.batch_id)
    rows = ws.runs()
    assert [(r[2], r[3], r[5]) for r in rows] == [
        ("failed", 1, "manual"), ("failed", 2, "retry"), ("succeeded", 3, "retry")]
    assert rows[1][4] == rows[0][0] and rows[2][4] == rows[1][0]
    first, second, third = (ws.get(r[0]) for r in rows)
    assert (second.not_before - first.finished_at).total_seconds() == pytest.approx(0.3, abs=0.01)
    assert (third.not_before - second.finished_at).total_seconds() == pytest.approx(0.6, abs=0.01)
    assert second.started_at >= second.not_before
    assert ws.lines(third.id, "stdout") == ["attempt 3 env attempt 3"]
    assert not any(ws.get(r[0]).dead for r in rows)


def test_spent_attempts_make_a_dead_run_listed_until_acknowledged(ws: Workspace) -> None:
    key = flaky(ws, attempts=1, delay="100ms", succeed_at=99)
    ws.supervise(batch_id=ws.submit(key).batch_id)
    rows = ws.runs()
    assert [r[2] for r in rows] == ["failed", "failed"]
    last = ws.get(rows[-1][0])
    assert last.dead and not ws.get(rows[0][0]).dead
    listed = duftui(ws, "runs", "--dead")
    assert [line.split()[:3] for line in listed.stdout.splitlines()[1:]] == [
        [str(last.id), "p/flaky", "failed"]]
    assert duftui(ws, "ack", str(last.id)).returncode == 0
    assert duftui(ws, "runs", "--dead").stderr.strip() == "no runs match"


def test_cancel_retry_cancels_the_waiting_run(ws: Workspace) -> None:
    key = flaky(ws, attempts=2, delay="1h", succeed_at=99)
    submitted = ws.submit(key)
    # Run only the first attempt: a supervisor in this process until the retry is queued.
    import anyio

    from duftui.engine.supervisor import Supervisor

    supervisor = Supervisor(ws.store, ws.catalogue(), ws.secrets(), batch_id=submitted.batch_id,
                            poll_interval=0.05)

    async def first_attempt() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(supervisor.run)
            while len(ws.runs()) < 2:
                await anyio.sleep(0.05)
            supervisor.stop()

    anyio.run(first_attempt)
    first, waiting = ws.runs()
    assert first[2] == "failed" and waiting[2] == "queued"
    with ws.store.write() as conn:
        result = cancel_retry(conn, ws.catalogue(), first[0], user="tester")
    assert result.run_id == waiting[0]
    assert ws.get(waiting[0]).status == RunStatus.CANCELLED
    assert ws.get(first[0]).dead
    with ws.store.write() as conn, pytest.raises(ControlError, match="has no retry waiting"):
        cancel_retry(conn, ws.catalogue(), first[0], user="tester")


def test_retry_now_requeues_a_finished_run(ws: Workspace) -> None:
    key = flaky(ws, attempts=0, delay="1s", succeed_at=2)
    run = ws.run(key)
    assert run.status == RunStatus.FAILED and run.dead
    with ws.store.write() as conn:
        result = retry_now(conn, ws.catalogue(), run.id, user="tester")
    ws.supervise()
    again = ws.get(result.run_id)
    assert again.status == RunStatus.SUCCEEDED and again.retry_of == run.id
    assert again.attempt == 2 and again.trigger == "retry"
    old = ws.get(run.id)
    assert old.acknowledged_at is not None and "retried as" in old.acknowledged_by
