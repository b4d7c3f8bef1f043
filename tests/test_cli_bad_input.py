"""Bad input on the command line (issue 15, items 7 and 8): each case runs the real
`python -m duftui` in a subprocess and checks the exact message, the exit code (2 for a
usage error, as click gives), that no traceback is printed, that it ends within its
timeout, and that a valid task beside it still runs afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import python_env, write

CASE_TIMEOUT_S = 60  # a hang fails the case; a loaded 2-core machine needs headroom
MAX_ID = 9223372036854775807
UTF8 = "duftui reads its arguments as UTF-8 text"


@dataclass(frozen=True)
class Case:
    group: str
    id: str
    args: tuple[str, ...]
    message: str  # the whole last line of stderr
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    workspace: str | None = None  # "-w" value (formatted); default: the good workspace


def usage(option: str, text: str) -> str:
    return f"Error: Invalid value for {option}: {text}"


def out_of_range(value: str, low: int, high: int = MAX_ID) -> str:
    return f"{value} is out of range: give a whole number from {low} to {high}"


def not_a_run_id(value: str) -> str:
    return f"{value} is not a run id (run ids are whole numbers from 1 to {MAX_ID})"


OUTSIDE = (
    "is outside the dates duftui can handle (years 1 to 9999); give a shorter duration or a date"
)
NOT_A_TIME = "expected a date/time like 2026-11-01T06:00 or a duration like 2h or 7d"
GARBAGE_DB = (
    "duftui: {tmp}/garbage.db is not a duftui state file (SQLite: file is not a database); "
    "give the right file with --db, or move this one away to start a new history"
)
WHERE = "cd into your workspace or give it with -w DIR (or DUFTUI_WORKSPACE)"

CASES = [
    # huge, negative and malformed whole numbers
    Case(
        "numbers",
        "limit-huge",
        ("runs", "--limit", "100000000000000000000"),
        usage("'--limit'", out_of_range("100000000000000000000", 1)),
    ),
    Case(
        "numbers",
        "limit-negative",
        ("runs", "--limit", "-1"),
        usage("'--limit'", out_of_range("-1", 1)),
    ),
    Case(
        "numbers", "limit-zero", ("runs", "--limit", "0"), usage("'--limit'", out_of_range("0", 1))
    ),
    Case(
        "numbers",
        "limit-word",
        ("runs", "--limit", "lots"),
        usage("'--limit'", "'lots' is not a whole number"),
    ),
    Case(
        "numbers",
        "retry-overflows-sqlite",
        ("retry", "9223372036854775808"),
        usage("'RUN_ID'", not_a_run_id("9223372036854775808")),
    ),
    Case("numbers", "retry-zero", ("retry", "0"), usage("'RUN_ID'", not_a_run_id("0"))),
    Case(
        "numbers",
        "logs-huge",
        ("logs", "99999999999999999999"),
        usage("'RUN_ID'", not_a_run_id("99999999999999999999")),
    ),
    Case(
        "numbers", "cancel-negative", ("cancel", "--", "-5"), usage("'RUN_ID'", not_a_run_id("-5"))
    ),
    Case(
        "numbers",
        "ack-huge",
        ("ack", "18446744073709551616"),
        usage("'RUN_ID'", not_a_run_id("18446744073709551616")),
    ),
    Case(
        "numbers",
        "outputs-float",
        ("outputs", "1e5"),
        usage("'RUN_ID'", "'1e5' is not a whole number"),
    ),
    Case(
        "numbers",
        "verify-overflow",
        ("verify", "9223372036854775808"),
        usage("'RUN_ID'", not_a_run_id("9223372036854775808")),
    ),
    Case(
        "numbers",
        "resend-target-huge",
        ("resend", "1", "--target", "99999999999"),
        usage("'--target'", out_of_range("99999999999", 0, 10_000)),
    ),
    Case(
        "numbers",
        "batch-overflow",
        ("runs", "--batch", "99999999999999999999"),
        usage(
            "'--batch'",
            "99999999999999999999 is not a batch id (batch ids are whole "
            f"numbers from 1 to {MAX_ID})",
        ),
    ),
    Case(
        "numbers",
        "tail-negative",
        ("logs", "1", "--tail", "-3"),
        usage("'--tail'", out_of_range("-3", 0)),
    ),
    Case(
        "numbers",
        "schedule-next-n-huge",
        ("schedule", "next", "p/ok", "-n", "99999999999"),
        usage("'-n'", out_of_range("99999999999", 1, 10_000)),
    ),
    Case(
        "numbers",
        "status-n-huge",
        ("status", "-n", "10001"),
        usage("'-n'", out_of_range("10001", 0, 10_000)),
    ),
    Case(
        "numbers",
        "fires-limit-overflow",
        ("schedule", "fires", "--limit", "99999999999999999999"),
        usage("'--limit'", out_of_range("99999999999999999999", 1)),
    ),
    Case(
        "numbers",
        "run-max-parallel-zero",
        ("run", "p/ok", "--max-parallel", "0"),
        usage("'--max-parallel'", out_of_range("0", 1, 10_000)),
    ),
    Case(
        "numbers",
        "daemon-max-parallel-huge",
        ("daemon", "--max-parallel", "99999999999999999999"),
        usage("'--max-parallel'", out_of_range("99999999999999999999", 1, 10_000)),
    ),
    # dates and durations
    Case(
        "times",
        "since-far-past",
        ("runs", "--since", "999999999d"),
        usage("'--since'", f"'999999999d' {OUTSIDE}"),
    ),
    Case(
        "times",
        "since-bad-duration",
        ("runs", "--since", "2hx"),
        usage(
            "'--since'",
            '\'2hx\': expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "2hx"',
        ),
    ),
    Case(
        "times",
        "since-bad-date",
        ("runs", "--since", "2026-13-45"),
        usage("'--since'", f"'2026-13-45': {NOT_A_TIME}"),
    ),
    Case(
        "times",
        "until-before-year-1",
        ("runs", "--until", "0001-01-01T00:00+05:00"),
        usage("'--until'", f"'0001-01-01T00:00+05:00' {OUTSIDE}"),
    ),
    Case(
        "times",
        "export-since-word",
        ("history", "export", "--csv", "-", "--since", "yesterday"),
        usage("'--since'", f"'yesterday': {NOT_A_TIME}"),
    ),
    Case(
        "times",
        "fires-since-far-past",
        ("schedule", "fires", "--since", "999999999d"),
        usage("'--since'", f"'999999999d' {OUTSIDE}"),
    ),
    Case(
        "times",
        "schedule-from-calendar-end",
        ("schedule", "next", "p/ok", "--from", "9999-12-31"),
        usage(
            "'--from'",
            "9999-12-31T00:00:00+00:00 is too close to the end of the "
            "calendar (9999-12-31) to list the fires after it; give an "
            "earlier time",
        ),
        env={"TZ": "UTC"},
    ),
    Case(
        "times",
        "run-at-far-past",
        ("run", "p/ok", "--at", "99999999d"),
        usage("'--at'", f"'99999999d' {OUTSIDE}"),
    ),
    Case(
        "times",
        "preview-at-word",
        ("preview", "p/ok", "--at", "noon"),
        usage("'--at'", f"'noon': {NOT_A_TIME}"),
    ),
    Case(
        "times",
        "daemon-grace-huge",
        ("daemon", "--grace", "999999999d"),
        usage("'--grace'", "'999999999d' is too long: give at most 7d"),
    ),
    # unknown names and statuses
    Case(
        "names",
        "unknown-status",
        ("runs", "--status", "exploded"),
        usage(
            "'--status'",
            "'exploded' is not one of 'queued', 'running', 'succeeded', "
            "'failed', 'cancelled', 'timed_out', 'skipped', 'lost'.",
        ),
    ),
    Case(
        "names",
        "unknown-task",
        ("runs", "--task", "nosuch"),
        "duftui: --task: no task 'nosuch' (expected one of: p/ok)",
        4,  # not found
    ),
    Case(
        "names",
        "unknown-level",
        ("logs", "1", "--level", "loud"),
        usage("'--level'", "'loud' is not one of 'debug', 'info', 'warning', 'error'."),
    ),
    # arguments and variables that are not UTF-8
    Case(
        "utf8",
        "non-utf8-argument",
        ("runs", "--task", os.fsdecode(b"\xff\xfe")),
        f"duftui: argument 5 (b'\\xff\\xfe') is not valid UTF-8; {UTF8}",
    ),
    Case(
        "utf8",
        "non-utf8-reason",
        ("cancel", "1", "--reason", os.fsdecode(b"caf\xe9")),
        f"duftui: argument 6 (b'caf\\xe9') is not valid UTF-8; {UTF8}",
    ),
    Case(
        "utf8",
        "non-utf8-db-variable",
        ("runs",),
        f"duftui: DUFTUI_DB (b'/tmp/\\xff.db') is not valid UTF-8; {UTF8}",
        env={"DUFTUI_DB": os.fsdecode(b"/tmp/\xff.db")},
    ),
    # state files that cannot be used
    Case("state-file", "db-garbage", ("--db", "{tmp}/garbage.db", "runs"), GARBAGE_DB, code=1),
    Case(
        "state-file",
        "db-garbage-run",
        ("--db", "{tmp}/garbage.db", "run", "p/ok"),
        GARBAGE_DB,
        code=1,
    ),
    Case(
        "state-file",
        "db-under-a-file",
        ("--db", "{ws}/connections.toml/state.db", "run", "p/ok"),
        "duftui: cannot create the state file {ws}/connections.toml/state.db: "
        "{ws}/connections.toml is not a folder; give another --db",
        code=1,
    ),
    Case(
        "state-file",
        "db-missing-for-reading",
        ("--db", "{tmp}/absent.db", "runs"),
        "duftui: no state file at {tmp}/absent.db: check --db (or DUFTUI_DB); "
        "`duftui run` and the daemon create it",
        code=1,
    ),
    Case(
        "state-file",
        "db-is-a-folder",
        ("--db", "{tmp}", "runs"),
        usage("'--db'", "File '{tmp}' is a directory."),
    ),
    # wrong workspaces
    Case(
        "workspace",
        "workspace-typo",
        ("tasks",),
        f"duftui: workspace {{tmp}}/typo/path does not exist; {WHERE}",
        workspace="{tmp}/typo/path",
    ),
    Case(
        "workspace",
        "workspace-not-one",
        ("runs",),
        f"duftui: {{tmp}}/plain is not a duftui workspace: it has no tasks/ folder and no "
        f"connections.toml; {WHERE}",
        workspace="{tmp}/plain",
    ),
    Case(
        "workspace",
        "workspace-typo-run",
        ("run", "p/ok"),
        f"duftui: workspace {{tmp}}/typo/path does not exist; {WHERE}",
        workspace="{tmp}/typo/path",
    ),
    Case(
        "workspace",
        "workspace-typo-daemon",
        ("daemon",),
        f"duftui: workspace {{tmp}}/typo/path does not exist; {WHERE}",
        workspace="{tmp}/typo/path",
    ),
    Case(
        "workspace",
        "workspace-typo-locate",
        ("locate",),
        f"duftui: workspace {{tmp}}/typo/path does not exist; {WHERE}",
        workspace="{tmp}/typo/path",
    ),
    Case(
        "workspace",
        "workspace-typo-console",
        (),
        f"duftui: workspace {{tmp}}/typo/path does not exist; {WHERE}",
        workspace="{tmp}/typo/path",
    ),
    Case(
        "workspace",
        "workspace-is-a-file",
        ("tasks",),
        usage("'--workspace' / '-w'", "Directory '{ws}/connections.toml' is a file."),
        workspace="{ws}/connections.toml",
    ),
    # files that cannot be written
    Case(
        "files",
        "export-to-full-disk",
        ("history", "export", "--csv", "/dev/full"),
        "duftui: cannot write the export to /dev/full: no space left on device; nothing "
        "was exported",
        code=1,
    ),
    Case(
        "files",
        "export-into-missing-folder",
        ("history", "export", "--json", "{tmp}/no/such/x.json"),
        "Error: Could not open file '{tmp}/no/such/x.json': No such file or directory",
        code=1,
    ),
    # parameters
    Case(
        "files",
        "param-without-value",
        ("run", "p/ok", "-p", "novalue"),
        "duftui: expected key=value, got 'novalue'",
    ),
]


def _duftui(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = python_env()
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "duftui", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=CASE_TIMEOUT_S,
        errors="surrogateescape",
    )


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A workspace with one valid task and no state file yet, and beside it a
    garbage file and a plain folder."""
    ws = tmp_path / "ws"
    write(ws / "connections.toml", "")
    write(
        ws / "tasks" / "p" / "ok.toml",
        'name = "ok"\n[run]\nkind = "command"\ncommand = ["true"]\n'
        '[[schedule]]\ncron = "0 0 * * *"\n',
    )
    (tmp_path / "garbage.db").write_bytes(b"this is not SQLite\n" * 300)
    (tmp_path / "plain").mkdir()
    return ws


def _still_runs(ws: Path) -> None:
    done = _duftui(["-w", str(ws), "run", "p/ok"])
    assert done.returncode == 0, done.stderr
    assert done.stderr.rstrip().endswith("· succeeded"), done.stderr


def _check(case: Case, good: Path) -> None:
    tmp = good.parent

    def fill(text: str) -> str:
        return text.replace("{ws}", str(good)).replace("{tmp}", str(tmp))

    workspace = fill(case.workspace) if case.workspace else str(good)
    args = ["-w", workspace, *(fill(a) for a in case.args)]
    done = _duftui(args, case.env)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, (case.id, output)
    lines = done.stderr.rstrip("\n").splitlines()
    assert lines and lines[-1] == fill(case.message), (case.id, done.stderr)
    assert done.returncode == case.code, (case.id, output)
    if done.returncode == 2 and fill(case.message).startswith("Error:"):
        assert "Usage: " in done.stderr, case.id  # click's usage error
    assert not (tmp / "typo").exists(), case.id
    assert not (tmp / "plain" / ".duftui").exists(), case.id


GROUPS: dict[str, list[Case]] = {}
for _case in CASES:
    GROUPS.setdefault(_case.group, []).append(_case)


@pytest.mark.parametrize("group", list(GROUPS))
def test_bad_input_gets_one_clear_line(group: str, good: Path) -> None:
    """Every case of a group, each checked on its own, then the valid task runs (one run
    per group: a run costs seconds on a loaded machine)."""
    for case in GROUPS[group]:
        if "/dev/full" in case.args and not Path("/dev/full").exists():
            continue  # a machine without /dev/full: that case cannot be made
        _check(case, good)
    _still_runs(good)


def test_the_corpus_is_large_and_every_case_is_named_once() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


def test_read_only_commands_never_create_the_state_folder(good: Path) -> None:
    """On a workspace with no state file yet, reading acts on an empty history."""
    expected = {
        ("tasks",): None,
        ("runs",): "",  # "no runs match" goes to stderr
        ("runs", "--json"): "[]\n",
        ("outputs", "1"): "",
        ("verify", "1"): "",
        ("logs", "1"): "",
        ("cancel", "1"): "",
        ("retry", "1"): "",
        ("ack", "1"): "",
        ("schedule", "next", "p/ok"): None,
        ("schedule", "fires"): "FIRE  SCHEDULE  OUTCOME  RUN  WHY\n",
        ("status",): None,
        ("validate",): "ok: 1 projects, 1 tasks, 0 connections\n",
        ("preview", "p/ok"): None,
        ("history", "export", "--csv", "-"): None,
        ("locate",): None,
    }
    for args, stdout in expected.items():
        done = _duftui(["-w", str(good), *args])
        if args == ("tasks",):
            assert done.stdout.splitlines()[1].split()[:4] == ["p/ok", "command", "yes", "cron"]
        assert "Traceback" not in done.stdout + done.stderr, (args, done.stderr)
        if stdout is not None:
            assert done.stdout == stdout, (args, done.stdout, done.stderr)
        if args[0] in ("outputs", "verify", "logs", "cancel", "retry", "ack"):
            assert done.returncode == 4, (args, done.stderr)  # not found
            assert done.stderr == f"duftui: no run #{args[1]}\n", (args, done.stderr)
        elif args == ("status",):
            assert done.returncode == 3, done.stderr  # no daemon runs
        else:
            assert done.returncode == 0, (args, done.stderr)
        assert not (good / ".duftui").exists(), args
    _still_runs(good)
    assert (good / ".duftui" / "state.db").is_file()


def test_a_mistyped_workspace_is_refused_and_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "path"
    done = _duftui(["-w", str(typo), "tasks"])
    assert done.returncode == 2
    assert done.stderr == f"duftui: workspace {typo} does not exist; {WHERE}\n"
    assert done.stdout == ""
    assert not (tmp_path / "typo").exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    done = _duftui(["tasks"], env={"DUFTUI_WORKSPACE": str(plain)})
    assert done.returncode == 2
    assert done.stderr == (
        f"duftui: {plain} is not a duftui workspace: it has no tasks/ "
        f"folder and no connections.toml; {WHERE}\n"
    )
    assert list(plain.iterdir()) == []
    done = _duftui(["run", "p/ok"], cwd=plain)  # the current directory is checked the same way
    assert done.returncode == 2 and "is not a duftui workspace" in done.stderr
    assert list(plain.iterdir()) == []
