"""Reloading definitions: the last good version of a broken file keeps its schedules, and
the watchers notice definition files (and only those) changing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from duftui.definitions.loader import load_workspace
from duftui.schedule.reload import merge, new_problems
from duftui.schedule.watch import InotifyWatcher, PollWatcher, Watcher
from tests.conftest import write
from tests.engine.conftest import Workspace
from tests.schedule.conftest import Daemon, wait_for

GOOD = 'name = "a"\n[run]\nkind = "command"\ncommand = ["true"]\n[[schedule]]\nevery = "1h"\n'


def test_a_broken_task_keeps_its_last_good_version(ws: Workspace) -> None:
    ws.task("a", GOOD)
    ws.task("b", GOOD)
    first = load_workspace(ws.root)
    ws.task("a", 'name = "a"\n[run]\nkind = "pyton"\n')  # now broken
    (ws.root / "tasks" / "p" / "b.toml").unlink()  # and b deleted
    fresh = load_workspace(ws.root)
    merged = merge(first, fresh)
    assert merged.catalogue.tasks["p/a"] is first.tasks["p/a"]
    assert not merged.catalogue.tasks["p/a"].broken
    assert "p/b" not in merged.catalogue.tasks
    assert merged.kept == [
        "tasks/p/a.toml: keeping the last good version of p/a (its "
        "schedules stay active) until the file is fixed"
    ]
    errors = new_problems(first.problems, fresh.problems)
    assert [p.file for p in errors] == ["tasks/p/a.toml"]
    assert new_problems(fresh.problems, load_workspace(ws.root).problems) == []  # once


def test_a_broken_task_that_was_never_good_stays_broken(ws: Workspace) -> None:
    ws.task("a", 'name = "a"\n[run]\nkind = "pyton"\n')
    merged = merge(load_workspace(ws.root), load_workspace(ws.root))
    assert merged.catalogue.tasks["p/a"].broken and merged.kept == []


def test_a_broken_project_file_keeps_the_project_schedules(ws: Workspace) -> None:
    ws.task("a", GOOD)
    project = ws.root / "tasks" / "p" / "project.toml"
    project.write_text('[[schedule]]\nname = "n"\ncron = "0 2 * * *"\n')
    first = load_workspace(ws.root)
    project.write_text('[[schedule]]\nname = "n"\ncron = "0 25 * * *"\n')
    merged = merge(first, load_workspace(ws.root))
    assert merged.catalogue.projects["p"].spec.schedule[0].cron == "0 2 * * *"


def test_an_unreadable_connections_file_keeps_the_connections(ws: Workspace) -> None:
    connections = ws.root / "connections.toml"
    connections.write_text('[db]\ntype = "sqlite"\npath = "x.db"\n')
    first = load_workspace(ws.root)
    connections.write_text('[db\ntype = "sqlite"\n')
    merged = merge(first, load_workspace(ws.root))
    assert "db" in merged.catalogue.connections


def watch_once(watcher: Watcher, change, timeout: float) -> bool:
    """Apply `change` and report whether the watcher woke up within `timeout`."""

    async def scenario() -> bool:
        async with anyio.create_task_group() as tg:
            woke = anyio.Event()

            async def waiter() -> None:
                await watcher.wait()
                woke.set()

            tg.start_soon(waiter)
            await anyio.sleep(0.05)
            await anyio.to_thread.run_sync(change)
            with anyio.move_on_after(timeout):
                await woke.wait()
            tg.cancel_scope.cancel()
            return woke.is_set()

    return anyio.run(scenario)


@pytest.fixture(params=["inotify", "poll"])
def watcher_kind(request: pytest.FixtureRequest) -> str:
    return request.param


def open_kind(kind: str, root: Path) -> Watcher:
    return InotifyWatcher(root) if kind == "inotify" else PollWatcher(root, interval=0.1)


def test_watchers_notice_task_files(ws: Workspace, watcher_kind: str) -> None:
    ws.task("a", GOOD)
    watcher = open_kind(watcher_kind, ws.root)
    try:
        assert watch_once(watcher, lambda: ws.task("a", GOOD + "# edited\n"), 5.0)
        assert watch_once(watcher, lambda: ws.task("new", GOOD), 5.0)
        assert watch_once(watcher, lambda: (ws.root / "connections.toml").write_text(""), 5.0)
        assert watch_once(watcher, lambda: (ws.root / "tasks/p/new.toml").unlink(), 5.0)
    finally:
        watcher.close()


def test_watchers_notice_new_project_folders(ws: Workspace, watcher_kind: str) -> None:
    watcher = open_kind(watcher_kind, ws.root)
    try:
        assert watch_once(watcher, lambda: ws.task("x", GOOD, project="q"), 5.0)
        watcher.rescan()  # the daemon rescans before each reload
        assert watch_once(watcher, lambda: ws.task("y", GOOD, project="q"), 5.0)
    finally:
        watcher.close()


def test_watchers_ignore_data_and_script_files(ws: Workspace, watcher_kind: str) -> None:
    ws.task("a", GOOD)
    watcher = open_kind(watcher_kind, ws.root)
    try:

        def scribble() -> None:
            write(ws.root / "tasks/p/scripts/a.py", "print(1)\n")
            write(ws.root / "tasks/p/data/out.csv", "a,b\n")
            write(ws.root / ".duftui/other.txt", "x")

        assert not watch_once(watcher, scribble, 0.5)
    finally:
        watcher.close()


def test_a_running_daemon_survives_hostile_files_and_keeps_reloading(
    ws: Workspace, daemons: list[Daemon]
) -> None:
    """A FIFO, a symlink to /dev/zero and a 20,000-deep array appear while the daemon
    runs: each is reported with its file, the other task keeps firing, and a task added
    afterwards is loaded and fires (the reload thread is not stuck)."""
    ws.task("a", 'name = "a"\n[run]\nkind = "command"\ncommand = ["true"]\n'
            '[[schedule]]\nevery = "1s"\n')
    daemon = Daemon(ws)
    daemons.append(daemon)
    daemon.wait_ready()
    wait_for(lambda: fire_count(ws, "p/a#0") >= 2, timeout=30)
    folder = ws.root / "tasks" / "p"
    os.mkfifo(folder / "pipe.toml")
    (folder / "zero.toml").symlink_to("/dev/zero")
    depth = 20_000
    (folder / "deep.toml").write_text(f'name = "d"\ntags = {"[" * depth}{"]" * depth}\n')
    for line in (
        "tasks/p/pipe.toml: not a regular file but a named pipe (FIFO)",
        "tasks/p/zero.toml: not a regular file but a symbolic link to a character device "
        "(/dev/zero)",
        "tasks/p/deep.toml:2: invalid TOML: values are nested more than 50 deep",
    ):
        wait_for(lambda line=line: line in daemon.output(), timeout=30)
    count = fire_count(ws, "p/a#0")
    wait_for(lambda: fire_count(ws, "p/a#0") >= count + 2, timeout=30)
    ws.task("b", 'name = "b"\n[run]\nkind = "command"\ncommand = ["true"]\n'
            '[[schedule]]\nevery = "1s"\n')
    wait_for(lambda: fire_count(ws, "p/b#0") >= 1, timeout=30)
    output = daemon.output()
    assert "Traceback" not in output and "RecursionError" not in output
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0


def fire_count(ws: Workspace, key: str) -> int:
    with ws.store.read() as conn:
        return conn.execute(
            text("SELECT count(*) FROM fire WHERE schedule_key = :k AND outcome = 'queued'"),
            {"k": key},
        ).scalar()
