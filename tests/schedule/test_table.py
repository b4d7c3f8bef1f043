"""The schedule table: which schedules are active and where each one's cursor starts."""

from __future__ import annotations

from datetime import UTC, timedelta

from duftui.definitions.loader import load_workspace
from duftui.schedule.table import build_table
from tests.engine.conftest import Workspace
from tests.schedule.conftest import utc

NOW = utc(2026, 6, 1, 12, 0, 7)
TASK = 'name = "t"\n{extra}\n[run]\nkind = "command"\ncommand = ["true"]\n{schedules}'


def task(ws: Workspace, name: str, schedules: str, extra: str = "") -> None:
    ws.task(name, TASK.format(extra=extra, schedules=schedules))


def table(ws: Workspace, states=None, previous=None, now=NOW):
    return build_table(
        ws.catalogue(),
        states or {},
        now,
        default_zone=UTC,
        default_tz_name="UTC",
        previous=previous,
    )


def test_new_schedules_start_after_now(ws: Workspace) -> None:
    task(
        ws, "a", '[[schedule]]\ncron = "0 * * * * *"\n[[schedule]]\nname = "half"\nevery = "30m"\n'
    )
    found = table(ws)
    assert sorted(found.entries) == ["p/a#0", "p/a#half"]
    assert found.entries["p/a#0"].pending == utc(2026, 6, 1, 12, 1)
    assert found.entries["p/a#half"].pending == NOW + timedelta(minutes=30)
    assert found.changed == {
        "p/a#0": utc(2026, 6, 1, 12, 1),
        "p/a#half": NOW + timedelta(minutes=30),
    }


def test_stored_cursor_survives_a_restart_so_missed_fires_are_seen(ws: Workspace) -> None:
    task(ws, "a", '[[schedule]]\ncron = "0 * * * * *"\n')
    stored = utc(2026, 6, 1, 11, 0)
    found = table(ws, {"p/a#0": (stored - timedelta(minutes=1), stored)})
    assert found.entries["p/a#0"].pending == stored
    assert found.changed == {}


def test_an_edit_that_makes_the_cursor_meaningless_starts_fresh(ws: Workspace) -> None:
    task(ws, "a", '[[schedule]]\ncron = "30 * * * * *"\n')
    found = table(ws, {"p/a#0": (None, utc(2026, 6, 1, 11, 0))})
    assert found.entries["p/a#0"].pending == utc(2026, 6, 1, 12, 0, 30)


def test_interval_keeps_its_phase_across_restarts(ws: Workspace) -> None:
    task(ws, "a", '[[schedule]]\nevery = "10m"\n')
    stored = utc(2026, 6, 1, 11, 55)
    found = table(ws, {"p/a#0": (utc(2026, 6, 1, 11, 45), stored)})
    entry = found.entries["p/a#0"]
    assert entry.pending == stored
    assert entry.trigger.first_after(NOW) == utc(2026, 6, 1, 12, 5)


def test_finished_one_off_stays_finished(ws: Workspace) -> None:
    task(ws, "a", "[[schedule]]\nat = 2026-05-01T06:00:00Z\n")
    found = table(ws, {"p/a#0": (utc(2026, 5, 1, 6), None)})
    assert found.entries["p/a#0"].pending is None and found.changed == {}


def test_disabled_tasks_and_schedules_do_not_fire_and_lose_their_state(ws: Workspace) -> None:
    task(ws, "off", '[[schedule]]\ncron = "* * * * *"\n', extra="enabled = false")
    task(ws, "on", '[[schedule]]\ncron = "* * * * *"\nenabled = false\n')
    found = table(ws, {"p/off#0": (None, NOW), "p/on#0": (None, NOW), "gone/x#0": (None, NOW)})
    assert found.entries == {}
    assert sorted(found.removed) == ["gone/x#0", "p/off#0", "p/on#0"]


def test_broken_tasks_keep_their_state_for_when_they_are_fixed(ws: Workspace) -> None:
    ws.task("bad", 'name = "bad"\n[run]\nkind = "pyton"\n[[schedule]]\ncron = "* * * * *"\n')
    found = build_table(
        load_workspace(ws.root),
        {"p/bad#0": (None, NOW)},
        NOW,
        default_zone=UTC,
        default_tz_name="UTC",
    )
    assert found.entries == {} and found.removed == []


def test_project_schedules_are_entries(ws: Workspace) -> None:
    task(ws, "a", "")
    (ws.root / "tasks" / "p" / "project.toml").write_text(
        '[[schedule]]\nname = "nightly"\ncron = "0 2 * * *"\ntimezone = "Europe/Amsterdam"\n'
    )
    entry = table(ws).entries["p#nightly"]
    assert entry.target.is_project and entry.target.owner == "p"
    assert entry.target.tz_name == "Europe/Amsterdam"
    assert entry.pending == utc(2026, 6, 2, 0)


def test_previous_entries_keep_their_cursor_when_unchanged(ws: Workspace) -> None:
    task(ws, "a", '[[schedule]]\ncron = "0 * * * * *"\n')
    first = table(ws)
    entry = first.entries["p/a#0"]
    entry.pending = utc(2026, 6, 1, 12, 5)  # as if it had fired meanwhile
    again = table(ws, previous=first.entries, now=NOW + timedelta(minutes=5))
    assert again.entries["p/a#0"] is entry
    task(ws, "a", '[[schedule]]\ncron = "0 */2 * * * *"\n')
    edited = table(ws, previous=first.entries, now=NOW + timedelta(minutes=5))
    assert edited.entries["p/a#0"] is not entry
    assert edited.entries["p/a#0"].pending == utc(2026, 6, 1, 12, 6)


def test_duplicate_schedule_names_are_reported(ws: Workspace) -> None:
    task(
        ws,
        "a",
        '[[schedule]]\nname = "x"\ncron = "* * * * *"\n[[schedule]]\nname = "x"\nevery = "1h"\n',
    )
    # The loader refuses the task (a broken task does not fire; a daemon keeps its last
    # good version), so the table's own guard is only the last line of defence.
    catalogue = load_workspace(ws.root)
    assert [str(p) for p in catalogue.tasks["p/a"].problems] == [
        'tasks/p/a.toml:10: schedule[1].name: schedule[0] is also named "x": this schedule '
        "would never fire; give each schedule of a task its own name"
    ]
    found = build_table(catalogue, {}, NOW, default_zone=UTC, default_tz_name="UTC")
    assert found.entries == {} and found.problems == []
