"""The command line over a real workspace and state file."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from duftui.store.db import Store
from duftui.store.runs import insert_run
from duftui.store.states import RunStatus
from tests.conftest import Cli, python_env, write


def test_validate_is_clean_on_the_examples(cli: Cli) -> None:
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 5 projects")


def test_validate_lists_every_problem_and_exits_1(cli: Cli) -> None:
    write(cli.workspace / "tasks/demo/bad.toml", 'name = "Bad"\n[run]\nkind = "pyton"\n')
    write(cli.workspace / "tasks/demo/worse.toml", 'name = "Worse"\nenabled = "yes"\n'
          '[run]\nkind = "python"\nfile = "scripts/hello.py"\n')
    result = cli("validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert ('tasks/demo/bad.toml:3: run.kind: expected one of python, notebook, sql, files, '
            'ssh, command, got "pyton"') in lines[0]
    assert 'tasks/demo/worse.toml:2: enabled: expected true or false, got "yes"' in lines
    assert "2 error(s)" in result.stderr


def test_tasks_lists_examples_with_kinds_and_schedules(cli: Cli) -> None:
    result = cli("tasks")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["TASK", "KIND", "ENABLED", "SCHEDULES", "LAST"]
    heartbeat = next(line for line in lines if line.startswith("demo/heartbeat"))
    assert "every 15m; cron 0 30 6 * * 1-5 (Europe/Amsterdam)" in heartbeat
    data = json.loads(cli("tasks", "--json").output)
    assert {row["task"] for row in data} >= {"demo/hello", "pipeline/report", "clinic/daily-visits"}


def test_tasks_shows_broken_task_and_keeps_others(cli: Cli) -> None:
    write(cli.workspace / "tasks/demo/broken.toml", "name = \n")
    result = cli("tasks")
    assert result.exit_code == 0
    assert "demo/broken" in result.stdout and "BROKEN" in result.stdout
    assert "demo/hello" in result.stdout
    assert "tasks/demo/broken.toml:1: invalid TOML" in result.stderr


def _seed_runs(db: Path) -> None:
    store = Store(db)
    with store.write() as conn:
        insert_run(conn, task_key="demo/hello", trigger="cli")
        insert_run(conn, task_key="demo/flaky", trigger="schedule", status=RunStatus.FAILED,
                   error='boom, "quoted"\nsecond line é')
    store.close()


def test_runs_filters_and_json(cli: Cli) -> None:
    _seed_runs(cli.workspace / ".duftui/state.db")
    result = cli("runs")
    assert result.exit_code == 0
    assert "demo/hello" in result.output and "demo/flaky" in result.output
    failed = cli("runs", "--status", "failed", "--json")
    rows = json.loads(failed.output)
    assert [r["task_key"] for r in rows] == ["demo/flaky"]
    assert cli("runs", "--task", "hello").output.count("demo/hello") == 1
    assert cli("runs", "--since", "1h", "--trigger", "manual").stderr.strip() == "no runs match"


def test_history_export_csv_to_stdout_and_file(cli: Cli, tmp_path: Path) -> None:
    _seed_runs(cli.workspace / ".duftui/state.db")
    result = cli("history", "export", "--csv", "-")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:4] == ["run_id", "project", "task", "status"]
    assert rows[2][2] == "flaky" and rows[2][12] == 'boom, "quoted"\nsecond line é'
    target = tmp_path / "out.json"
    result = cli("history", "export", "--json", str(target), "--status", "failed")
    assert json.loads(target.read_text())[0]["task"] == "flaky"
    assert "exported 1 runs" in result.stderr


def test_history_export_needs_one_target(cli: Cli) -> None:
    result = cli.runner.invoke(__import__("duftui.cli").cli.main,
                               ["--workspace", str(cli.workspace), "history", "export"])
    assert result.exit_code == 2
    assert "exactly one of --csv FILE or --json FILE" in result.output


def test_secret_set_reads_stdin_and_writes_0600(cli: Cli) -> None:
    result = cli("secret", "set", "clinic-sftp.password", input="s3cr3t\n")
    assert result.exit_code == 0, result.output
    path = Path(os.environ["DUFTUI_SECRETS"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cr3t" not in result.output
    assert cli("secret", "list").output.split() == ["clinic-sftp.password"]


def test_secret_refused_when_file_is_world_readable(cli: Cli) -> None:
    path = Path(os.environ["DUFTUI_SECRETS"])
    write(path, 'x = "1"\n').chmod(0o644)
    result = cli.runner.invoke(__import__("duftui.cli").cli.main,
                               ["--workspace", str(cli.workspace), "secret", "list"])
    assert result.exit_code == 1
    assert f"chmod 600 {path}" in result.output


def test_python_m_duftui_works_without_console_script(example_workspace: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "duftui", "--workspace", str(example_workspace),
                             "validate"], capture_output=True, text=True, env=python_env(),
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")


def test_locate_prints_paths(cli: Cli) -> None:
    output = cli("locate").output
    assert str(cli.workspace / ".duftui" / "state.db") in output
    assert os.environ["DUFTUI_SECRETS"] in output
