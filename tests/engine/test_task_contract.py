"""The stricter task contract: permanent errors end a run dead at once, a run hands back a
result, and `[retry] attempts` is read under its new name `retries`."""

from __future__ import annotations

import json

from duftui.definitions.loader import load_workspace
from tests.engine.conftest import Workspace, duftui


def exits(ws: Workspace, name: str, code_expr: str, retry: str) -> str:
    return ws.python_task(
        name,
        f"import sys\nprint('trying')\nsys.exit({code_expr})\n",
        extra=f"[retry]\n{retry}\ndelay = \"10ms\"\njitter = false\n",
    )


def test_never_on_exit_codes_ends_the_run_dead_at_once(ws: Workspace) -> None:
    key = exits(ws, "bad-input", "3", "retries = 3\nnever_on_exit_codes = [3]")
    run = ws.run(key)
    assert run.status == "failed" and run.dead and run.exit_code == 3
    assert len(ws.runs()) == 1


def test_on_exit_codes_retries_only_those(ws: Workspace) -> None:
    key = exits(ws, "temp", "75", "retries = 2\non_exit_codes = [75]")
    ws.run(key)
    assert [r[2:4] for r in ws.runs()] == [("failed", 1), ("failed", 2), ("failed", 3)]
    other = exits(ws, "perm", "1", "retries = 2\non_exit_codes = [75]")
    run = ws.run(other)
    assert run.dead and len(ws.runs(f"task_key = '{other}'")) == 1


def test_fail_without_retry_is_permanent(ws: Workspace) -> None:
    key = ws.python_task(
        "refused",
        "from duftui import task\nprint('logging in')\n"
        "task.fail('the partner refused our login', retry=False)\nprint('never here')\n",
        extra='[retry]\nretries = 3\ndelay = "10ms"\n',
    )
    run = ws.run(key)
    assert run.status == "failed" and run.dead and run.no_retry and run.exit_code == 1
    assert len(ws.runs()) == 1
    lines = ws.lines(run.id)
    assert "the partner refused our login (a permanent error: not retried)" in lines
    assert "never here" not in lines
    assert "the partner refused our login" in (run.error or "")


def test_fail_with_retry_retries(ws: Workspace) -> None:
    key = ws.python_task(
        "flaky", "from duftui import task\ntask.fail('upstream busy')\n",
        extra='[retry]\nretries = 1\ndelay = "10ms"\n',
    )
    ws.run(key)
    assert [r[2:4] for r in ws.runs()] == [("failed", 1), ("failed", 2)]


def test_a_result_round_trips_masked(ws: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("EXTRACT_TOKEN", "tok-9f3c2e7a")
    key = ws.python_task(
        "counts",
        "import os\nfrom duftui import task\n"
        "task.result({'rows': 1204, 'files': ['a.csv', 'b.csv'], "
        "'token': os.environ['DUFTUI_PARAM_TOKEN'] if 'DUFTUI_PARAM_TOKEN' in os.environ "
        "else task.params()['token']})\n",
        extra='[params.token]\ndefault = { env = "EXTRACT_TOKEN" }\nsecret = true\n',
    )
    run = ws.run(key)
    assert run.status == "succeeded", ws.lines(run.id)
    stored = json.loads(run.result or "null")
    assert stored == {"rows": 1204, "files": ["a.csv", "b.csv"], "token": "********"}
    assert any(line.startswith("result: {") for line in ws.lines(run.id))


def test_a_result_too_large_is_refused_with_a_message(ws: Workspace) -> None:
    key = ws.python_task(
        "big",
        "from duftui import task\ntry:\n    task.result('x' * 70000)\n"
        "except ValueError as exc:\n    print('refused:', exc)\n",
    )
    run = ws.run(key)
    assert run.result is None
    assert "refused: a run's result is at most 65536 bytes of JSON" in ws.lines(run.id)


def test_attempts_still_works_and_validate_says_to_rename_it(ws: Workspace) -> None:
    key = exits(ws, "old", "1", "attempts = 1")
    ws.run(key)
    assert len(ws.runs()) == 2
    catalogue = load_workspace(ws.root)
    (warning,) = [p for p in catalogue.tasks[key].problems if not p.is_error]
    assert str(warning) == (
        "tasks/p/old.toml:3: retry.attempts: `attempts` is the old name of `retries` (extra "
        "attempts after the first): write retries = 1 (warning)"
    )
    checked = duftui(ws, "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    both = exits(ws, "both", "1", "attempts = 1\nretries = 2")
    problems = [str(p) for p in load_workspace(ws.root).tasks[both].problems]
    assert any("give `retries` only" in p for p in problems)
