"""Runs in their own uv environments: requirements files, inline lists and PEP 723 blocks,
isolation from duftui's packages, conflicting versions side by side, a build shared by two
runs, failed builds, and reuse with no index reachable."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from duftui.store.states import RunStatus
from tests.conftest import write
from tests.engine.conftest import Workspace
from tests.envs.conftest import dead_index, env_dirs, env_task

REPORT = """
import json, sys
import six
from duftui import task
task.log("duftui.task works")
try:
    import textual
    isolated = False
except ImportError:
    isolated = True
print(json.dumps({"six": six.__version__, "python": sys.executable, "isolated": isolated}))
"""


def report(ws: Workspace, run_id: int) -> dict:
    return json.loads(next(line for line in ws.lines(run_id) if line.startswith('{"six"')))


def test_requirements_file_builds_a_locked_isolated_environment_once(ws: Workspace) -> None:
    write(ws.root / "tasks" / "p" / "scripts" / "req.txt", "# pinned\nsix==1.16.0\n")
    key = env_task(ws, "extract", REPORT, 'requirements = "scripts/req.txt"')
    first = ws.run(key)
    assert first.status == RunStatus.SUCCEEDED, ws.lines(first.id)
    seen = report(ws, first.id)
    assert seen["six"] == "1.16.0"
    assert seen["isolated"], "a task in its own environment must not import duftui's textual"
    assert "duftui.task works" in ws.lines(first.id)
    [env_key] = env_dirs(ws)
    assert seen["python"] == str(ws.root / ".duftui" / "envs" / env_key / "bin" / "python")
    lock = (ws.root / "tasks" / "p" / "scripts" / "req.lock").read_text()
    assert lock.startswith("# duftui-lock input=") and "six==1.16.0" in lock
    assert "--hash=sha256:" in lock
    assert any(line.startswith("building environment") for line in ws.lines(first.id))
    second = ws.run(key)
    assert second.status == RunStatus.SUCCEEDED
    text = "\n".join(ws.lines(second.id))
    assert "building environment" not in text and "locking" not in text
    # the run's log names the environment: key, python version and lock hash
    assert f"in environment {env_key} (python " in text and "lock sha256:" in text


def test_inline_metadata_and_an_inline_list_need_conflicting_versions_in_one_run(
        ws: Workspace) -> None:
    old = env_task(ws, "old", "# /// script\n# requires-python = \">=3.11\"\n"
                   "# dependencies = [\"six==1.16.0\"]\n# ///\n" + REPORT)
    new = env_task(ws, "new", REPORT, 'requirements = ["six==1.17.0"]')
    submitted = [ws.submit(old), ws.submit(new)]
    ws.supervise(max_parallel=2)
    runs = [ws.get(s.run_ids[0]) for s in submitted]
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 2, [ws.lines(r.id) for r in runs]
    assert [report(ws, r.id)["six"] for r in runs] == ["1.16.0", "1.17.0"]
    assert len(env_dirs(ws)) == 2
    assert (ws.root / "tasks" / "p" / "scripts" / "old.script.lock").is_file()
    assert (ws.root / "tasks" / "p" / "new.requirements.lock").is_file()


def test_two_runs_needing_one_environment_at_once_build_it_once(ws: Workspace) -> None:
    write(ws.root / "tasks" / "p" / "scripts" / "req.txt", "six==1.16.0\n")
    keys = [env_task(ws, name, REPORT, 'requirements = "scripts/req.txt"')
            for name in ("a", "b")]
    submitted = [ws.submit(key) for key in keys]
    ws.supervise(max_parallel=2)
    runs = [ws.get(s.run_ids[0]) for s in submitted]
    assert all(r.status == RunStatus.SUCCEEDED for r in runs), [ws.lines(r.id) for r in runs]
    lines = [line for r in runs for line in ws.lines(r.id)]
    assert sum(line.startswith("building environment") for line in lines) == 1, lines
    assert sum(line.startswith("locking ") for line in lines) == 1, lines
    assert len(env_dirs(ws)) == 1
    assert report(ws, runs[0].id)["python"] == report(ws, runs[1].id)["python"]


def test_a_failed_build_fails_the_run_with_uvs_message_and_leaves_nothing(
        ws: Workspace) -> None:
    key = env_task(ws, "nosuch", "print('never')\n",
                   'requirements = ["duftui-no-such-package-4f1c==1.0"]')
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    text = "\n".join(ws.lines(run.id))
    assert "cannot lock the requirements of nosuch.toml (inline list)" in text
    assert "duftui-no-such-package-4f1c" in text and "never" not in text
    # a lock whose hash does not match what the index serves: the install itself fails
    write(ws.root / "tasks" / "p" / "scripts" / "req.txt", "six==1.16.0\n")
    bad = env_task(ws, "badhash", REPORT, 'requirements = "scripts/req.txt"')
    assert ws.run(bad).status == RunStatus.SUCCEEDED
    lock = ws.root / "tasks" / "p" / "scripts" / "req.lock"
    head = lock.read_text().partition("\n")[0]
    for env in env_dirs(ws):
        shutil.rmtree(ws.root / ".duftui" / "envs" / env)
    lock.write_text(head + "\n" + "six==1.16.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    failed = ws.run(bad)
    assert failed.status == RunStatus.FAILED
    text = "\n".join(ws.lines(failed.id))
    assert "building the environment for scripts/req.txt failed" in text
    assert "hash" in text.lower()
    assert env_dirs(ws) == []
    assert not [p for p in (ws.root / ".duftui" / "envs").iterdir()
                if p.name.startswith(".build-")]


def test_a_built_environment_is_reused_with_no_index_and_a_missing_one_fails_clearly(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    write(ws.root / "tasks" / "p" / "scripts" / "req.txt", "six==1.16.0\n")
    key = env_task(ws, "extract", REPORT, 'requirements = "scripts/req.txt"')
    assert ws.run(key).status == RunStatus.SUCCEEDED
    monkeypatch.setenv("UV_INDEX_URL", dead_index())  # uv reads this one itself
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("UV_NO_CACHE", "1")  # nothing from the cache either
    again = ws.run(key)
    assert again.status == RunStatus.SUCCEEDED, ws.lines(again.id)
    assert report(ws, again.id)["six"] == "1.16.0"
    missing = env_task(ws, "missing", REPORT, 'requirements = ["six==1.17.0"]')
    failed = ws.run(missing)
    assert failed.status == RunStatus.FAILED
    text = "\n".join(ws.lines(failed.id))
    assert "cannot lock the requirements of missing.toml (inline list)" in text
    assert "127.0.0.1" in text, text


def test_a_notebook_runs_on_a_kernel_from_its_own_environment(ws: Workspace) -> None:
    from tests.compat.conftest import notebook_task

    key = notebook_task(
        ws, "nb",
        "import sys, toolz\nprint('toolz', toolz.__version__, sys.executable)\n"
        "try:\n    import textual\nexcept ImportError:\n    print('no textual')\n",
        run_extra='requirements = ["toolz==0.12.1"]')
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    [env_key] = env_dirs(ws)
    python = ws.root / ".duftui" / "envs" / env_key / "bin" / "python"
    assert f"toolz 0.12.1 {python}" in ws.lines(run.id)
    assert "no textual" in ws.lines(run.id)
    assert (ws.root / "tasks" / "p" / "nb.requirements.kernel.lock").is_file()


def test_a_python_version_that_is_not_installed_is_never_downloaded(ws: Workspace) -> None:
    key = env_task(ws, "old", "print('never')\n", 'python = "3.4"')
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert "no such Python is installed on this machine (duftui never downloads one" in (
        run.error or ""), run.error


def test_a_command_task_gets_its_environment_on_path(ws: Workspace) -> None:
    key = ws.task("cmd", textwrap.dedent("""
        name = "cmd"
        [run]
        kind = "command"
        command = ["python", "-c", "import six, sys; print('six', six.__version__, sys.prefix)"]
        requirements = ["six==1.16.0"]
        """))
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    [env_key] = env_dirs(ws)
    assert f"six 1.16.0 {ws.root / '.duftui' / 'envs' / env_key}" in ws.lines(run.id)
