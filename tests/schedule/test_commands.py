"""`duftui status`, `duftui schedule next|fires` and the daemon's refusal, in-process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from duftui.engine.identity import process_identity
from duftui.schedule import lease
from duftui.schedule.logs import DaemonFormatter
from duftui.schedule.misfire import COALESCED, QUEUED, SKIPPED, PlannedFire
from duftui.schedule.record import Target, record_fires
from tests.conftest import Cli, python_env
from tests.engine.conftest import Workspace
from tests.schedule.conftest import sched

TRUE = '[run]\nkind = "command"\ncommand = ["true"]\n'


@pytest.fixture
def cli(ws: Workspace) -> Cli:
    ws.task(
        "a",
        f'name = "a"\n{TRUE}[[schedule]]\ncron = "30 2 * * *"\ntimezone = "Europe/Amsterdam"\n'
        '[[schedule]]\nname = "once"\nat = 2099-01-01T06:00:00\ntimezone = "Europe/Amsterdam"\n',
    )
    ws.task("b", f'name = "b"\n{TRUE}[[schedule]]\nevery = "15m"\n')
    (ws.root / "tasks" / "p" / "project.toml").write_text(
        '[[schedule]]\nname = "nightly"\ncron = "0 0 1 1 *"\ntimezone = "UTC"\n'
    )
    return Cli(ws.root)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    logger = logging.getLogger("duftui")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def seed_fires(ws: Workspace) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    target = Target("p/a#0", "p/a", False, sched(cron="30 2 * * *"), "UTC")
    times = [now.replace(second=s) for s in (1, 2, 3)]
    plans = [
        PlannedFire(times[0], COALESCED, "coalesced into the run for X", times[2]),
        PlannedFire(times[1], COALESCED, "coalesced into the run for X", times[2]),
        PlannedFire(times[2], QUEUED, "3 due fires run once"),
    ]
    other = Target("p/b#0", "p/b", False, sched(every="15m"), "UTC")
    with ws.store.write() as conn:
        record_fires(conn, ws.catalogue(), target, plans)
        record_fires(
            conn,
            ws.catalogue(),
            other,
            [PlannedFire(times[0], SKIPPED, "missed by 3h (grace 30s); misfire = skip")],
        )


def test_status_without_a_daemon(cli: Cli, ws: Workspace) -> None:
    seed_fires(ws)
    result = cli("status", "-n", "50")
    assert result.exit_code == 3, result.output  # as `systemctl status` of a stopped unit
    out = result.output
    assert "no daemon running: schedules do not fire" in out
    assert "runs       0 running, 1 queued" in out
    assert "next fires (4 schedules; the next of each schedule)" in out
    assert "p/a#0" in out and "every 15m" in out
    assert "(2 fires)  p/a#0     coalesced  coalesced into the run for X" in out
    assert "p/b#0     skipped    missed by 3h (grace 30s); misfire = skip" in out


def test_status_names_a_live_daemon_and_speaks_json(cli: Cli, ws: Workspace) -> None:
    with ws.store.write() as conn:
        lease.acquire(conn, holder=process_identity())
    out = cli("status").output
    assert f"daemon     running: pid {os.getpid()} on {lease.this_host()}, last heartbeat" in out
    data = json.loads(cli("status", "--json").output)
    assert data["daemon"]["running"] and data["daemon"]["pid"] == os.getpid()
    assert data["schedules"] == 4 and len(data["next_fires"]) == 4
    first = data["next_fires"][0]
    assert set(first) >= {"at", "utc_offset", "schedule", "owner", "describe", "overdue"}


def test_status_lists_each_schedule_once_and_all_lists_every_fire(cli: Cli) -> None:
    data = json.loads(cli("status", "--json").output)
    # The 15-minute schedule no longer crowds out the nightly and yearly ones.
    assert sorted(f["schedule"] for f in data["next_fires"]) == [
        "p#nightly", "p/a#0", "p/a#once", "p/b#0",
    ]
    ats = [f["at"] for f in data["next_fires"]]
    assert ats == sorted(ats, key=lambda at: datetime.fromisoformat(at))
    assert len(json.loads(cli("status", "--json", "-n", "2").output)["next_fires"]) == 2

    every = json.loads(cli("status", "--json", "--all").output)["next_fires"]
    every_15m = [f for f in every if f["schedule"] == "p/b#0"]
    # 24 h of a 15-minute interval: 96 fires (97 when the window's both ends are fires).
    assert 96 <= len(every_15m) <= 97
    assert len([f for f in every if f["schedule"] == "p/a#0"]) == 1
    assert not [f for f in every if f["schedule"] == "p/a#once"]  # in 2099
    text = cli("status", "--all").output
    assert "every fire of the next 24 h" in text


def test_schedule_next_shows_offsets_and_the_dst_gap(cli: Cli) -> None:
    result = cli("schedule", "next", "p/a", "-n", "3", "--from", "2026-03-28T12:00:00+01:00")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FIRE", "UTC", "SCHEDULE", "WHAT"]
    assert lines[1].startswith("2026-03-29 03:00:00+02:00  +02:00  p/a#0")
    assert lines[2].startswith("2026-03-30 02:30:00+02:00  +02:00  p/a#0")
    assert "cron 30 2 * * * (Europe/Amsterdam)" in lines[1]


def test_schedule_next_of_a_project_and_json(cli: Cli) -> None:
    fires = json.loads(
        cli("schedule", "next", "p", "-n", "2", "--from", "2026-05-01", "--json").output
    )
    assert [f["schedule"] for f in fires] == ["p#nightly", "p#nightly"]
    assert [f["at"] for f in fires] == ["2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"]


def test_schedule_next_marks_unanchored_intervals(cli: Cli) -> None:
    result = cli("schedule", "next", "b", "-n", "2")
    assert result.stdout.splitlines()[1].startswith("~")
    assert "anchored when the daemon first sees it" in result.stderr
    assert "no daemon is running" in result.stderr


def test_schedule_next_of_an_unknown_target(cli: Cli) -> None:
    result = cli("schedule", "next", "nope")
    assert result.exit_code == 4 and "no task 'nope'" in result.stderr


def test_schedule_fires_lists_outcomes_and_filters(cli: Cli, ws: Workspace) -> None:
    seed_fires(ws)
    out = cli("schedule", "fires", "p/a").stdout
    assert out.count("p/a#0") == 3 and "p/b#0" not in out
    skipped = json.loads(cli("schedule", "fires", "--outcome", "skipped", "--json").output)
    assert [(r["schedule_key"], r["outcome"]) for r in skipped] == [("p/b#0", "skipped")]


def test_daemon_refuses_when_another_holds_the_lease(cli: Cli, ws: Workspace) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with ws.store.write() as conn:
            lease.acquire(conn, holder=process_identity(holder.pid), pid=holder.pid)
        result = cli("daemon")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"another daemon is running: pid {holder.pid} on {lease.this_host()}" in (result.stderr)


def test_log_lines_are_plain_with_a_level_prefix() -> None:
    record = logging.LogRecord("duftui.daemon", logging.WARNING, "", 0, "two\nlines", None, None)
    assert DaemonFormatter(journald=True).format(record) == "<4>WARNING two\n<4>WARNING lines"
    plain = DaemonFormatter(journald=False).format(record)
    assert " WARNING two\nlines" in plain and plain[:4].isdigit() and "\x1b" not in plain


def test_schedule_modules_do_not_import_textual() -> None:
    modules = [
        "duftui.schedule.daemon",
        "duftui.schedule.detach",
        "duftui.schedule.status",
        "duftui.schedule.watch",
        "duftui.commands.daemon",
    ]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=python_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("cron", "line"),
    [
        (
            "0 0 1 * 5#2",
            'tasks/p/c.toml:6: schedule[0].cron: an nth weekday (like 5#2) cannot be combined '
            "with a day of month: the scheduler cannot honour both; write ? for the day of "
            'month, or use two schedules (in "0 0 1 * 5#2")',
        ),
        ("0 25 * * *", 'tasks/p/c.toml:6: schedule[0].cron: expected hour 0-23, got 25 (in "0 25 * * *")'),
    ],
)
def test_schedule_next_of_a_broken_schedule_names_it_and_fails(
    cli: Cli, ws: Workspace, cron: str, line: str
) -> None:
    ws.task("c", f'name = "c"\n{TRUE}[[schedule]]\ncron = "{cron}"\n')
    result = cli("schedule", "next", "p/c")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        line,
        "duftui: p/c: its fires cannot be listed until the problems above are fixed",
    ]


def test_schedule_next_of_a_project_with_a_broken_file_fails(cli: Cli, ws: Workspace) -> None:
    (ws.root / "tasks" / "p" / "project.toml").write_text(
        '[[schedule]]\nname = "n"\ncron = "0 0 1 1 *"\n[[schedule]]\nname = "n"\nevery = "1d"\n'
    )
    result = cli("schedule", "next", "p")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        'tasks/p/project.toml:5: schedule[1].name: schedule[0] is also named "n": this schedule '
        "would never fire; give each schedule of a project its own name"
    )
