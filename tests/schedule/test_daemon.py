"""`duftui daemon` as a real subprocess: fires on time, survives kill -9 with the misfire
policy applied exactly, refuses a second daemon, drains on SIGTERM, gives up a lost
lease, reloads edited definitions and detaches."""

from __future__ import annotations

import itertools
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from duftui.engine.wake import poke
from duftui.schedule import lease
from tests.conftest import python_env
from tests.engine.conftest import Workspace, pid_alive
from tests.schedule.conftest import Daemon, wait_for

TRUE = '[run]\nkind = "command"\ncommand = ["true"]\n'


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_second(after: float) -> datetime:
    return datetime.fromtimestamp(math.ceil(after), UTC)


def fire_rows(ws: Workspace, key: str) -> list[tuple]:
    with ws.store.read() as conn:
        return conn.execute(
            text(
                "SELECT f.fire_time, f.outcome, f.reason, f.run_id, r.queued_at FROM fire f "
                "LEFT JOIN run r ON r.id = f.run_id WHERE f.schedule_key = :k ORDER BY f.fire_time"
            ),
            {"k": key},
        ).all()


def scalar(ws: Workspace, sql: str, **params: object):
    with ws.store.read() as conn:
        return conn.execute(text(sql), params).scalar()


def lateness(rows: list[tuple]) -> list[float]:
    return [
        (datetime.fromisoformat(r[4]) - datetime.fromisoformat(r[0])).total_seconds() for r in rows
    ]


def test_every_second_schedules_fire_on_time_for_ten_seconds(ws: Workspace, daemons) -> None:
    start = whole_second(time.time() + 5)
    end = start + timedelta(seconds=9)
    ws.task(
        "tick",
        f'name = "tick"\n{TRUE}[[schedule]]\ncron = "* * * * * *"\n'
        f"start = {stamp(start)}\nend = {stamp(end)}\n",
    )
    ws.task("beat", f'name = "beat"\n{TRUE}[[schedule]]\nevery = "1s"\n')
    daemon = Daemon(ws, "--max-parallel", "4")
    daemons.append(daemon)
    daemon.wait_ready()
    assert datetime.now(UTC) < start, "the daemon took too long to start"
    wait_for(
        lambda: len(fire_rows(ws, "p/tick#0")) >= 10 and len(fire_rows(ws, "p/beat#0")) >= 10,
        timeout=(end - datetime.now(UTC)).total_seconds() + 20,
    )
    wait_for(
        lambda: scalar(ws, "SELECT count(*) FROM run WHERE status IN ('queued', 'running')") == 0,
        timeout=20,
    )
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.output()

    tick = fire_rows(ws, "p/tick#0")
    assert [datetime.fromisoformat(r[0]) for r in tick] == [
        start + timedelta(seconds=k) for k in range(10)
    ]
    assert {r[1] for r in tick} == {"queued"}
    beat = fire_rows(ws, "p/beat#0")[:10]
    times = [datetime.fromisoformat(r[0]) for r in beat]
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(seconds=1)] * 9
    late = lateness(tick) + lateness(beat)
    print(
        f"lateness p50 {statistics.median(late) * 1000:.1f} ms, "
        f"max {max(late) * 1000:.1f} ms over {len(late)} fires"
    )
    assert min(late) >= 0, "a fire was queued before its time"
    assert statistics.median(late) < 0.05
    assert max(late) < 0.5
    assert scalar(ws, "SELECT count(*) FROM run WHERE status != 'succeeded'") == 0


EXPECTED = {  # policy -> runs after the restart, for `missed` fires missed while down
    "skip": lambda missed: 0,
    "coalesce": lambda missed: 1 if missed else 0,
    "all": lambda missed: missed,
    "all-capped": lambda missed: min(2, missed),
}


def test_kill_9_and_restart_applies_each_misfire_policy_exactly(ws: Workspace, daemons) -> None:
    """One task per policy, all with the same four fires, all missed while the daemon is
    dead. Fires recorded before the kill (on a slow machine) are counted, not assumed."""
    start = whole_second(time.time() + 3)
    end = start + timedelta(seconds=3)  # four fires
    for policy in EXPECTED:
        misfire = "all" if policy == "all-capped" else policy
        cap = "max_catchup = 2\n" if policy == "all-capped" else ""
        ws.task(
            policy,
            f'name = "{policy}"\n{TRUE}[[schedule]]\ncron = "* * * * * *"\n'
            f'start = {stamp(start)}\nend = {stamp(end)}\nmisfire = "{misfire}"\n'
            f'grace = "1s"\n{cap}',
        )
    first = Daemon(ws, name="first")
    daemons.append(first)
    wait_for(lambda: scalar(ws, "SELECT count(*) FROM schedule_state") == 4, timeout=30)
    first.kill()  # kill -9
    before = {policy: fire_rows(ws, f"p/{policy}#0") for policy in EXPECTED}
    wait_for(lambda: datetime.now(UTC) > end + timedelta(seconds=1.5), timeout=30)

    second = Daemon(ws, name="second")
    daemons.append(second)
    wait_for(lambda: scalar(ws, "SELECT count(*) FROM fire") == 16, timeout=30)
    wait_for(
        lambda: scalar(ws, "SELECT count(*) FROM run WHERE status IN ('queued', 'running')") == 0,
        timeout=30,
    )
    second.signal(signal.SIGTERM)
    assert second.wait() == 0, second.output()

    for policy, expected in EXPECTED.items():
        key = f"p/{policy}#0"
        rows = fire_rows(ws, key)
        assert [datetime.fromisoformat(r[0]) for r in rows] == [
            start + timedelta(seconds=k) for k in range(4)
        ]  # every fire exactly once
        queued_before = sum(1 for r in before[policy] if r[1] == "queued")
        missed = 4 - len(before[policy])
        runs = scalar(ws, "SELECT count(*) FROM run WHERE schedule_key = :k", k=key)
        assert runs == queued_before + expected(missed), (policy, second.output())
        outcomes = [r[1] for r in rows[len(before[policy]) :]]
        if policy == "skip":
            assert outcomes == ["skipped"] * missed
        elif policy == "coalesce":
            assert outcomes == ["coalesced"] * (missed - 1) + ["queued"]
            assert len({r[3] for r in rows[len(before[policy]) :]}) == 1  # one run for all
        elif policy == "all":
            assert outcomes == ["queued"] * missed
        else:
            assert outcomes == ["skipped"] * (missed - 2) + ["queued"] * 2
    assert "more than max_catchup = 2" in second.output()


def test_kill_9_mid_stream_loses_and_doubles_nothing(ws: Workspace, daemons) -> None:
    ws.task(
        "job",
        f'name = "job"\n{TRUE}[[schedule]]\ncron = "* * * * * *"\n'
        'misfire = "coalesce"\ngrace = "1s"\n',
    )
    first = Daemon(ws, name="first")
    daemons.append(first)
    wait_for(lambda: len(fire_rows(ws, "p/job#0")) >= 3, timeout=30)
    first.kill()
    killed_at = datetime.now(UTC)
    wait_for(lambda: datetime.now(UTC) > killed_at + timedelta(seconds=3), timeout=10)
    second = Daemon(ws, name="second")
    daemons.append(second)
    count = len(fire_rows(ws, "p/job#0"))
    wait_for(lambda: len(fire_rows(ws, "p/job#0")) >= count + 6, timeout=30)
    second.signal(signal.SIGTERM)
    assert second.wait() == 0
    rows = fire_rows(ws, "p/job#0")
    times = [datetime.fromisoformat(r[0]) for r in rows]
    assert times == [times[0] + timedelta(seconds=k) for k in range(len(times))]
    assert "coalesced" in {r[1] for r in rows}


def test_two_daemons_started_at_once_one_runs_one_refuses(ws: Workspace, daemons) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    ws.store  # noqa: B018 - create the state file first
    pair = [Daemon(ws, name="one"), Daemon(ws, name="two")]
    daemons.extend(pair)
    wait_for(lambda: any(d.proc.poll() is not None for d in pair), timeout=30)
    loser = next(d for d in pair if d.proc.poll() is not None)
    winner = next(d for d in pair if d is not loser)
    assert loser.proc.returncode == 1
    winner.wait_ready()
    message = loser.output()
    assert f"another daemon is running: pid {winner.pid} on " in message
    assert "last heartbeat" in message and "s ago" in message
    winner.signal(signal.SIGTERM)
    assert winner.wait() == 0
    assert scalar(ws, "SELECT count(*) FROM lease") == 0


def test_sigterm_drains_then_cancels_and_records_why(ws: Workspace, daemons) -> None:
    for name, seconds in (("quick", 1.5), ("slow", 120)):
        ws.python_task(name, f"import time\ntime.sleep({seconds})\nprint('done')\n")
    ws.python_task("later", "print('later')\n")
    daemon = Daemon(ws, "--grace", "3s")
    daemons.append(daemon)
    daemon.wait_ready()
    quick = ws.submit("p/quick").run_ids[0]
    slow = ws.submit("p/slow").run_ids[0]
    poke(ws.root)
    wait_for(
        lambda: ws.get(quick).status == "running" and ws.get(slow).status == "running", timeout=30
    )
    daemon.signal(signal.SIGTERM)
    wait_for(lambda: "stopping (received SIGTERM)" in daemon.output(), timeout=10)
    later = ws.submit("p/later").run_ids[0]
    poke(ws.root)
    assert daemon.wait(timeout=30) == 0, daemon.output()
    assert ws.get(quick).status == "succeeded"
    cancelled = ws.get(slow)
    assert cancelled.status == "cancelled"
    assert "daemon stopped (received SIGTERM)" in (cancelled.error or "")
    assert "grace period ran out" in (cancelled.cancel_reason or "")
    assert ws.get(later).status == "queued"  # nothing new was claimed while draining
    assert scalar(ws, "SELECT count(*) FROM lease") == 0


def test_a_daemon_that_loses_its_lease_stops_and_exits_non_zero(ws: Workspace, daemons) -> None:
    ws.task("a", f'name = "a"\n{TRUE}[[schedule]]\ncron = "* * * * * *"\n')
    daemon = Daemon(ws)
    daemons.append(daemon)
    daemon.wait_ready()
    wait_for(lambda: fire_rows(ws, "p/a#0"), timeout=10)
    with ws.store.write() as conn:
        conn.execute(text("UPDATE lease SET holder = 'elsewhere:1:1.00', pid = 1"))
        fired = conn.execute(text("SELECT count(*) FROM fire")).scalar()
    assert daemon.wait(timeout=20) == 3
    assert scalar(ws, "SELECT count(*) FROM fire") == fired  # nothing fired without the lease
    assert "lost the daemon lease (now held by pid 1" in daemon.output()
    assert "no more fires or claims" in daemon.output()


def test_a_stale_lease_is_taken_over(ws: Workspace, daemons) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with ws.store.write() as conn:  # a dead process on this host, heartbeat still fresh
        lease.acquire(conn, holder=f"{lease.this_host()}:{gone.pid}:1.00", pid=gone.pid)
    daemon = Daemon(ws)
    daemons.append(daemon)
    daemon.wait_ready()
    assert "took over a stale daemon lease" in daemon.output()
    daemon.signal(signal.SIGINT)
    assert daemon.wait() == 0


def test_edited_definitions_are_reloaded_and_a_broken_file_keeps_its_schedule(
    ws: Workspace, daemons
) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    daemon = Daemon(ws)
    daemons.append(daemon)
    daemon.wait_ready()
    ws.task("b", f'name = "b"\n{TRUE}[[schedule]]\nevery = "1s"\n')
    wait_for(lambda: len(fire_rows(ws, "p/b#0")) >= 2, timeout=30)
    ws.task("b", 'name = "b"\n[run\nkind = "command"\n')  # broken TOML
    wait_for(lambda: "keeping the last good version of p/b" in daemon.output(), timeout=30)
    assert "tasks/p/b.toml:2: invalid TOML" in daemon.output()
    count = len(fire_rows(ws, "p/b#0"))
    wait_for(lambda: len(fire_rows(ws, "p/b#0")) >= count + 2, timeout=30)
    (ws.root / "tasks" / "p" / "b.toml").unlink()
    wait_for(
        lambda: scalar(ws, "SELECT count(*) FROM schedule_state WHERE schedule_key = 'p/b#0'") == 0,
        timeout=30,
    )
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0


def test_detach_starts_a_background_daemon_and_prints_its_pid(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    argv = [sys.executable, "-m", "duftui", "--workspace", str(ws.root), "daemon", "--detach"]
    result = subprocess.run(argv, capture_output=True, text=True, env=python_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip())
    try:
        assert scalar(ws, "SELECT pid FROM lease") == pid
        log = ws.root / ".duftui" / "daemon.log"
        wait_for(lambda: "daemon started" in log.read_text(), timeout=10)
        again = subprocess.run(argv, capture_output=True, text=True, env=python_env(), timeout=60)
        assert again.returncode == 1 and "already running" in again.stderr
        subprocess.run(["kill", "-TERM", str(pid)], check=True)
        wait_for(lambda: not pid_alive(pid), timeout=20)
        assert scalar(ws, "SELECT count(*) FROM lease") == 0
        assert "daemon stopped (exit code 0)" in log.read_text()
    finally:
        if pid_alive(pid):
            subprocess.run(["kill", "-KILL", str(pid)], check=False)


def _duftui(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "duftui", "--workspace", str(ws.root), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=python_env(), timeout=120)


def test_daemon_stop_drains_and_status_then_exits_3(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    assert _duftui(ws, "daemon", "stop").returncode == 3
    assert "no daemon is running" in _duftui(ws, "daemon", "stop").stderr
    assert _duftui(ws, "status").returncode == 3
    daemon = Daemon(ws)
    try:
        daemon.wait_ready()
        assert _duftui(ws, "status").returncode == 0
        assert _duftui(ws, "status", "--json").returncode == 0
        stopped = _duftui(ws, "daemon", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert f"daemon stopped (pid {daemon.pid})" in stopped.stdout
        # `stop` returns only once the daemon has exited and given up its lease.
        assert daemon.proc.poll() == 0
        assert scalar(ws, "SELECT count(*) FROM lease") == 0
        assert "daemon stopped (exit code 0)" in daemon.output()
        assert _duftui(ws, "status").returncode == 3
    finally:
        if daemon.proc.poll() is None:
            daemon.signal(signal.SIGKILL)
            daemon.wait()


def test_daemon_restart_starts_a_new_background_daemon(ws: Workspace) -> None:
    ws.task("a", f'name = "a"\n{TRUE}')
    first = Daemon(ws)
    pid = None
    try:
        first.wait_ready()
        restarted = _duftui(ws, "daemon", "restart")
        assert restarted.returncode == 0, restarted.stderr
        assert f"daemon stopped (pid {first.pid})" in restarted.stderr
        pid = int(restarted.stdout.strip())
        assert pid != first.pid and first.proc.poll() == 0
        assert scalar(ws, "SELECT pid FROM lease") == pid
        assert _duftui(ws, "daemon", "stop").returncode == 0
        assert not pid_alive(pid)
    finally:
        for proc_pid in (first.pid, pid):
            if proc_pid and pid_alive(proc_pid):
                os.kill(proc_pid, signal.SIGKILL)
