"""Hostile servers: FTP and SFTP servers whose listings hold `../` names, absolute names,
backslashes, NUL and empty names. Nothing may land outside the run's folder (no task
file planted in the workspace); the unsafe names are skipped with a warning, and a
listing of nothing but unsafe names fails the run with a clear message."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path

import pytest

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import FtpServer, SshServer

PLANTED_TASK = 'name = "planted"\n[run]\nkind = "command"\ncommand = ["touch", "pwned"]\n'
CLIMB = "../../../../tasks/p/x.toml"
BACKSLASH = "..\\..\\..\\..\\tasks\\p\\bs.toml"


def start(kind: str, tmp_path: Path, names: list[str]) -> FtpServer | SshServer:
    if kind == "ftp":
        return FtpServer(tmp_path / "server", hostile_names=names)
    return SshServer(tmp_path / "server", tmp_path / "ssh-state", hostile_names=names)


@pytest.fixture(params=["ftp", "sftp"])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def serve(root: Path, listed_in: str, name: str) -> None:
    """Put a file where the server resolves `listed_in/name`, so a client that asks for
    it gets data (as from a server that really wants the file taken)."""
    inside = posixpath.normpath(posixpath.join("/", listed_in, name))  # `..` stops at /
    path = root / inside.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLANTED_TASK)


def files_outside(tmp_path: Path, server_root: Path, run_dir: Path, names: set[str]) -> list[Path]:
    """Files called one of `names` anywhere under tmp_path but the server's own tree and
    the run's folder."""
    return [
        path
        for path in tmp_path.rglob("*")
        if path.name in names
        and not path.is_relative_to(server_root)
        and not path.is_relative_to(run_dir)
    ]


def test_climbing_and_absolute_names_never_leave_the_run_folder(
    sws: StepWorkspace, tmp_path: Path, kind: str
) -> None:
    absolute = str(tmp_path / "planted" / "abs.toml")
    hostile = [CLIMB, absolute]
    server = start(kind, tmp_path, hostile)
    try:
        (server.root / "in").mkdir(parents=True)
        (server.root / "in" / "good.csv").write_text("id\n1\n")
        (server.root / "in" / BACKSLASH).write_text(PLANTED_TASK)  # a real POSIX name
        for name in hostile:
            serve(server.root, "in", name)
        sws.connection("drop", server.connection())
        key = sws.task(
            "fetch", 'name = "fetch"\n[run]\nkind = "files"\n[source]\nconnection = "drop"\n'
            'path = "in/*"\n'
        )
        run = sws.run(key)
        log = sws.text(run.id)
        assert run.status == RunStatus.SUCCEEDED, log
        assert not (sws.root / "tasks" / "p" / "x.toml").exists()
        assert not Path(absolute).exists()
        run_dir = sws.run_dir(run.id)
        assert files_outside(tmp_path, server.root, run_dir, {"x.toml", "abs.toml"}) == []
        taken = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
        assert taken == ["source/good.csv"]
        for name in [*hostile, BACKSLASH]:
            assert (
                f"skipped the name {name!r} listed in in: it holds a path separator (/ or \\)"
            ) in log
        assert "1 file(s) match in/* on" in log and "3 unsafe name(s) skipped" in log
        assert sws.catalogue().tasks.keys() == {"p/fetch"}
    finally:
        server.close()


def test_a_listing_of_only_unsafe_names_fails_clearly(
    sws: StepWorkspace, tmp_path: Path, kind: str
) -> None:
    hostile = [CLIMB, "", "a\x00b.csv", "..", "bell\x07.csv"]
    server = start(kind, tmp_path, hostile)
    try:
        (server.root / "in").mkdir(parents=True)
        serve(server.root, "in", CLIMB)
        sws.connection("drop", server.connection())
        key = sws.task(
            "fetch", 'name = "fetch"\n[run]\nkind = "files"\n[source]\nconnection = "drop"\n'
            'path = "in/*"\n'
        )
        run = sws.run(key)
        log = sws.text(run.id)
        assert run.status == RunStatus.FAILED
        label = server.connection()["type"]
        assert (run.error or "").startswith(f"source: {label} drop (127.0.0.1:{server.port}) ")
        assert "listed only file names that would write outside the run's folder, so none was " in (
            run.error
        )
        assert f"skipped the name {CLIMB!r} listed in in: it holds a path separator" in run.error
        assert "; nothing else matches in/*" in run.error
        assert "Traceback" not in log
        assert "skipped the name '' listed in in: it is empty" in log
        assert "skipped the name 'a\\x00b.csv' listed in in: it holds a NUL character" in log
        assert "skipped the name 'bell\\x07.csv' listed in in: it holds a control character" in log
        assert not (sws.root / "tasks" / "p" / "x.toml").exists()
        assert not any(p.is_file() for p in sws.run_dir(run.id).rglob("*"))
    finally:
        server.close()


def test_a_listing_that_never_ends_stops_the_walk(sws: StepWorkspace, tmp_path: Path) -> None:
    """Every folder the server lists holds one more folder: the walk stops at 64."""
    server = FtpServer(tmp_path / "server", endless_folder="deeper")
    try:
        (server.root / "in").mkdir(parents=True)
        (server.root / "in" / "a.csv").write_text("a\n")
        sws.connection("drop", server.connection())
        key = sws.task(
            "deep", 'name = "deep"\n[run]\nkind = "files"\n[source]\nconnection = "drop"\n'
            'path = "in/*.csv"\nrecursive = true\n'
        )
        run = sws.run(key)
        log = sws.text(run.id)
        assert run.status == RunStatus.SUCCEEDED, log
        deepest = "in/" + "/".join(["deeper"] * 65)
        assert (
            f"source: ftp drop (127.0.0.1:{server.port}): not listing {deepest}: more than 64 "
            "folders deep (a folder that contains itself?)"
        ) in log
        taken = [p for p in sws.run_dir(run.id).rglob("*") if p.is_file()]
        assert taken == [sws.run_dir(run.id) / "source" / "a.csv"]
    finally:
        server.close()
