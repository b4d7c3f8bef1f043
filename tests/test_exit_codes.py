"""The exit-code table of the README: 0 ok, 1 failed, 2 usage, 3 not running or nothing
to do, 4 not found; messages on stderr, --json output alone on stdout."""

from __future__ import annotations

import json

import pytest

from tests.engine.conftest import Workspace, duftui


@pytest.fixture
def table_ws(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.python_task("ok", "print('fine')")
    ws.python_task("bad", "import sys; sys.exit(7)")
    yield ws
    ws.close()


CASES = [
    # (arguments, exit code, what stderr says)
    (["run", "p/ok"], 0, "succeeded"),
    (["run", "p/bad"], 1, "failed"),
    (["run", "p/bad", "--exit-code", "task"], 7, "failed"),
    (["run", "p/ok", "--bogus"], 2, "No such option"),
    (["status"], 3, ""),
    (["daemon", "stop"], 3, "no daemon is running"),
    (["run", "p/nope"], 4, "no task 'p/nope'"),
    (["run", "--project", "nope"], 4, "no project 'nope'"),
    (["tasks", "--project", "nope"], 4, "no project 'nope'"),
    (["logs", "9999"], 4, "no run #9999"),
    (["ack", "9999"], 4, "no run #9999"),
    (["outputs", "9999"], 4, "no run #9999"),
    (["explain", "p/nope"], 4, "no task 'p/nope'"),
    (["stats", "p/nope"], 4, "no task 'p/nope'"),
    (["schedule", "next", "nope"], 4, "no task 'nope'"),
    (["runs", "--task", "nope"], 4, "no task 'nope'"),
]


def test_the_exit_code_table(table_ws: Workspace) -> None:
    for args, code, said in CASES:
        done = duftui(table_ws, *args)
        assert done.returncode == code, (args, done.returncode, done.stderr)
        assert said in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, args


def test_json_output_never_mixes_in_text(table_ws: Workspace) -> None:
    assert duftui(table_ws, "run", "p/ok").returncode == 0
    none = duftui(table_ws, "runs", "--status", "failed")
    assert none.stdout == "" and none.stderr.strip() == "no runs match"
    runs = json.loads(duftui(table_ws, "runs", "--json").stdout)
    assert isinstance(runs[0]["params"], dict) and runs[0]["worker"] == ""
    assert json.loads(duftui(table_ws, "runs", "--json", "--status", "failed").stdout) == []


def test_version_and_completion(table_ws: Workspace) -> None:
    for flag in ("-V", "--version"):
        assert duftui(table_ws, flag).stdout.startswith("duftui, version ")
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files --command duftui")):
        script = duftui(table_ws, "completion", shell)
        assert script.returncode == 0 and marker in script.stdout and "_DUFTUI_COMPLETE" in (
            script.stdout
        ), shell
