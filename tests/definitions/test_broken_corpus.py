"""The broken-definitions corpus: every failure mode has one small file, and its message.

`tests/data/broken_workspace` is loaded once; each file's problems are compared with the
exact text a user would see, so a vague, misplaced or misleading message fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from duftui.definitions import Catalogue, load_workspace
from tests.conftest import DATA, python_env

WORKSPACE = DATA / "broken_workspace"

EXPECTED: dict[str, list[str]] = {
    "connections.toml": [
        'connections.toml:22: leaky-sftp.password: a secret must not be written in connections.toml (it is under version control); write password = { secret = "leaky-sftp.password" }, then run `duftui secret set leaky-sftp.password` (or use { env = "VAR" })',
        'connections.toml:36: duft-leaky.params.api_password.value: a secret must not be written in connections.toml (it is under version control); write value = { secret = "duft-leaky.api_password" }, then run `duftui secret set duft-leaky.api_password` (or use { env = "VAR" })',
        'connections.toml:40: url-password.url: the URL holds a password; remove it from the URL and add password = { secret = "url-password.password" }, then run `duftui secret set url-password.password` (or use { env = "VAR" })',
        "connections.toml:43: mystery.type: expected one of sqlite, sql, sftp, ssh, ftp, smb, smtp, duft, got \"sqlit\"; did you mean 'sqlite'?",
        "connections.toml:46: no-host.host: required field is missing",
        'connections.toml:53: both-refs.password: a reference needs exactly one of env = "VAR" or secret = "name"',
    ],
    "tasks/Old_Reports": [
        "tasks/Old_Reports: project key 'Old_Reports' is not valid: rename the folder using lower-case letters, digits, '-' and '_'; its tasks are not loaded until then",
    ],
    "tasks/clinic/Bad Name.toml": [
        "tasks/clinic/Bad Name.toml: task key 'Bad Name' is not valid: rename the file using lower-case letters, digits, '-' and '_' (e.g. bad-name.toml)",
    ],
    "tasks/clinic/archive/extract.toml": [
        "tasks/clinic/archive/extract.toml: duplicate task key 'extract': also defined in tasks/clinic/extract.toml; rename one of them (task keys are unique within a project)",
    ],
    "tasks/clinic/bad-duration.toml": [
        'tasks/clinic/bad-duration.toml:2: timeout: expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "30 minutes"',
    ],
    "tasks/clinic/bad-param-name.toml": [
        "tasks/clinic/bad-param-name.toml:7: params.start-date: parameter name 'start-date' is not valid: use letters, digits and '_' (it becomes an environment variable)",
    ],
    "tasks/clinic/bad-secret-ref.toml": [
        'tasks/clinic/bad-secret-ref.toml:8: params.token: a reference needs exactly one of env = "VAR" or secret = "name"',
    ],
    "tasks/clinic/bad-timezone.toml": [
        "tasks/clinic/bad-timezone.toml:9: schedule[0].timezone: unknown time zone \"Europe/Amsterdm\"; did you mean 'Europe/Amsterdam'?",
    ],
    "tasks/clinic/broken-connection.toml": [
        "tasks/clinic/broken-connection.toml:7: source.connection: connection 'url-password' cannot be used: it has errors (see connections.toml:40)",
    ],
    "tasks/clinic/command-list-item.toml": [
        "tasks/clinic/command-list-item.toml:5: run.command[1]: expected a string, got 5",
    ],
    "tasks/clinic/command-string.toml": [
        'tasks/clinic/command-string.toml:5: run.command: a string needs shell = true; otherwise give an argv list like ["tool", "--flag"]',
    ],
    "tasks/clinic/cron-field-count.toml": [
        'tasks/clinic/cron-field-count.toml:8: schedule[0].cron: expected 5 fields (minute hour day month weekday) or 6 with seconds first, got 4 in "0 6 * *"',
    ],
    "tasks/clinic/cron-never.toml": [
        'tasks/clinic/cron-never.toml:8: schedule[0].cron: day of month 30 never comes in February: this schedule would never fire (in "0 6 30 2 *")',
    ],
    "tasks/clinic/cron-out-of-range.toml": [
        'tasks/clinic/cron-out-of-range.toml:8: schedule[0].cron: expected hour 0-23, got 25 (in "0 25 * * *")',
    ],
    "tasks/clinic/cron-seven-fields.toml": [
        'tasks/clinic/cron-seven-fields.toml:8: schedule[0].cron: expected 5 fields (minute hour day month weekday) or 6 with seconds first, got 7 in "0 0 6 * * * 2026"; a year field is not supported',
    ],
    "tasks/clinic/cron-table-field.toml": [
        "tasks/clinic/cron-table-field.toml:11: schedule[1].cron.hours: unknown field; did you mean 'hour'?",
    ],
    "tasks/clinic/cron-table-range.toml": [
        "tasks/clinic/cron-table-range.toml:10: schedule[0].cron.hour: expected 0-23, got 30",
    ],
    "tasks/clinic/deliver-no-connection.toml": [
        'tasks/clinic/deliver-no-connection.toml:11: deliver[1]: an sftp delivery needs connection = "NAME" (one from connections.toml)',
    ],
    "tasks/clinic/every-zero.toml": [
        "tasks/clinic/every-zero.toml:8: schedule[0].every: an interval must be longer than zero",
    ],
    "tasks/clinic/missing-name.toml": [
        "tasks/clinic/missing-name.toml: name: required field is missing",
    ],
    "tasks/clinic/missing-run.toml": [
        "tasks/clinic/missing-run.toml: run: required field is missing",
    ],
    "tasks/clinic/missing-script.toml": [
        "tasks/clinic/missing-script.toml:5: run.file: file not found: tasks/clinic/scripts/missing.py (paths are relative to tasks/clinic/)",
    ],
    "tasks/clinic/nightly/project.toml": [
        "tasks/clinic/nightly/project.toml: project.toml is only read at the top of a project folder (tasks/clinic/project.toml); move or rename this file",
    ],
    "tasks/clinic/needs-bad-key.toml": [
        "tasks/clinic/needs-bad-key.toml:2: needs[1]: task key 'Visits Report' is not valid: "
        "use lower-case letters, digits, '-' and '_', starting with a letter or digit",
    ],
    "tasks/clinic/output-delimiter.toml": [
        'tasks/clinic/output-delimiter.toml:12: output.delimiter: expected one character, got ";;"',
    ],
    "tasks/clinic/output-encoding.toml": [
        'tasks/clinic/output-encoding.toml:11: output.encoding: unknown text encoding "utf-9"; use a name like "utf-8" or "cp1252"',
    ],
    "tasks/clinic/python-no-file.toml": [
        'tasks/clinic/python-no-file.toml:4: run.kind: "python" needs run.file (the script to run)',
    ],
    "tasks/clinic/retry-negative.toml": [
        "tasks/clinic/retry-negative.toml:8: retry.attempts: must be >= 0, got -1",
    ],
    "tasks/clinic/schedule-at-text.toml": [
        'tasks/clinic/schedule-at-text.toml:8: schedule[0].at: expected a date-time like 2026-12-01T06:00:00, got "tomorrow morning"',
    ],
    "tasks/clinic/schedule-cron-and-every.toml": [
        "tasks/clinic/schedule-cron-and-every.toml:7: schedule[0]: a schedule needs exactly one of cron, every or at (found: cron, every)",
    ],
    "tasks/clinic/schedule-misfire.toml": [
        "tasks/clinic/schedule-misfire.toml:9: schedule[0].misfire: expected one of skip, coalesce, all, got \"skipp\"; did you mean 'skip'?",
    ],
    "tasks/clinic/schedule-none.toml": [
        "tasks/clinic/schedule-none.toml:7: schedule[0]: a schedule needs exactly one of cron, every or at (found: none)",
    ],
    "tasks/clinic/self-need.toml": [
        "tasks/clinic/self-need.toml:2: needs[1]: a task cannot need itself",
    ],
    "tasks/clinic/sql-no-connection.toml": [
        'tasks/clinic/sql-no-connection.toml:6: source.connection: "sql" needs connection = "NAME" (one from connections.toml)',
    ],
    "tasks/clinic/sql-no-query.toml": [
        'tasks/clinic/sql-no-query.toml:6: source: "sql" needs exactly one of query, query_file or query_url (found: none)',
    ],
    "tasks/clinic/toml-duplicate-key.toml": [
        "tasks/clinic/toml-duplicate-key.toml:2: invalid TOML: a key or table is defined twice",
    ],
    "tasks/clinic/toml-duplicate-table.toml": [
        "tasks/clinic/toml-duplicate-table.toml:6: invalid TOML: table [run] is declared twice",
    ],
    "tasks/clinic/toml-missing-comma.toml": [
        "tasks/clinic/toml-missing-comma.toml:2: invalid TOML: an array is not closed: a ',' between items or the ']' is missing",
    ],
    "tasks/clinic/toml-missing-value.toml": [
        "tasks/clinic/toml-missing-value.toml:2: invalid TOML: missing or invalid value (strings need quotes; booleans are true or false)",
    ],
    "tasks/clinic/toml-not-utf8.toml": [
        "tasks/clinic/toml-not-utf8.toml:1: file is not valid UTF-8; save it with UTF-8 encoding",
    ],
    "tasks/clinic/toml-unclosed-string.toml": [
        "tasks/clinic/toml-unclosed-string.toml:1: invalid TOML: a string is not closed before the end of the line",
    ],
    "tasks/clinic/unknown-connection.toml": [
        "tasks/clinic/unknown-connection.toml:7: source.connection: unknown connection 'warehose'; did you mean 'warehouse'?",
    ],
    "tasks/clinic/unknown-field-close.toml": [
        "tasks/clinic/unknown-field-close.toml:2: desciption: unknown field; did you mean 'description'?",
    ],
    "tasks/clinic/unknown-field-far.toml": [
        "tasks/clinic/unknown-field-far.toml:2: colour: unknown field (expected one of: allow_overlap, deliver, description, duft_id, enabled, hidden, name, needs, notify, output, owner, params, processing, rank, retry, run, schedule, source, tags, timeout)",
    ],
    "tasks/clinic/unknown-field-nested.toml": [
        "tasks/clinic/unknown-field-nested.toml:8: retry.attempt: unknown field; did you mean 'attempts'?",
    ],
    "tasks/clinic/unknown-kind.toml": [
        "tasks/clinic/unknown-kind.toml:5: run.kind: expected one of python, notebook, sql, files, ssh, command, got \"pyton\"; did you mean 'python'?",
    ],
    "tasks/clinic/unknown-needs.toml": [
        "tasks/clinic/unknown-needs.toml:2: needs[0]: no task 'extrct' in project 'clinic'; did you mean 'extract'?",
    ],
    "tasks/clinic/wrong-type-bool.toml": [
        'tasks/clinic/wrong-type-bool.toml:2: enabled: expected true or false, got "yes"',
    ],
    "tasks/clinic/wrong-type-int.toml": [
        'tasks/clinic/wrong-type-int.toml:2: rank: expected a whole number, got "10"',
    ],
    "tasks/clinic/wrong-type-list.toml": [
        'tasks/clinic/wrong-type-list.toml:2: tags: expected a list, got "nightly"',
    ],
    "tasks/cycle/a.toml": [
        "tasks/cycle/a.toml:2: needs: dependency cycle: a → c → b → a (each needs the next)",
    ],
    "tasks/cycle/b.toml": [
        "tasks/cycle/b.toml:2: needs: dependency cycle: a → c → b → a (each needs the next)",
    ],
    "tasks/cycle/c.toml": [
        "tasks/cycle/c.toml:2: needs: dependency cycle: a → c → b → a (each needs the next)",
    ],
    "tasks/legacy/cleanup.toml": [
        "tasks/legacy/cleanup.toml: tasks/legacy/project.toml has errors (see there); this task does not run until they are fixed, as the params, schedules and limits it inherits are unknown",
    ],
    "tasks/legacy/project.toml": [
        "tasks/legacy/project.toml:1: invalid TOML: a string is not closed before the end of the line",
    ],
    "tasks/ops/backup.toml": [
        "tasks/ops/backup.toml: tasks/ops/project.toml has errors (see there); this task does not run until they are fixed, as the params, schedules and limits it inherits are unknown",
    ],
    "tasks/ops/project.toml": [
        "tasks/ops/project.toml:2: sequence_task: unknown field; did you mean 'sequence_tasks'?",
    ],
}

VALID_TASKS = [
    "clinic/extract",
    "clinic/visits",
    "clinic/upload",
    "clinic/rollup",
]

# Files that report problems but are not task entries: a bad file name, a duplicate key,
# a misplaced project.toml, a bad project folder, and the project files themselves.
NOT_TASK_ENTRIES = {
    "connections.toml",
    "tasks/Old_Reports",
    "tasks/clinic/Bad Name.toml",
    "tasks/clinic/archive/extract.toml",
    "tasks/clinic/nightly/project.toml",
    "tasks/legacy/project.toml",
    "tasks/ops/project.toml",
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_workspace(WORKSPACE)


@pytest.fixture(scope="module")
def problems_by_file(catalogue: Catalogue) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for problem in catalogue.problems:
        grouped[problem.file].append(str(problem))
    return dict(grouped)


@pytest.mark.parametrize("file", sorted(EXPECTED))
def test_problems_of_each_file(file: str, problems_by_file: dict[str, list[str]]) -> None:
    assert problems_by_file.get(file, []) == EXPECTED[file]


def test_no_other_file_reports_problems(problems_by_file: dict[str, list[str]]) -> None:
    assert sorted(problems_by_file) == sorted(EXPECTED)


def test_corpus_holds_at_least_thirty_broken_task_files() -> None:
    assert len(set(EXPECTED) - NOT_TASK_ENTRIES) >= 30


def test_only_file_level_problems_lack_a_line(catalogue: Catalogue) -> None:
    """A problem inside a file names its line; only file names and absent keys cannot."""
    assert catalogue.problems == catalogue.errors
    without_line = sorted(str(p) for p in catalogue.problems if p.line is None)
    assert without_line == sorted(
        [
            *EXPECTED["tasks/Old_Reports"],
            *EXPECTED["tasks/clinic/Bad Name.toml"],
            *EXPECTED["tasks/clinic/archive/extract.toml"],
            *EXPECTED["tasks/clinic/nightly/project.toml"],
            *EXPECTED["tasks/clinic/missing-name.toml"],
            *EXPECTED["tasks/clinic/missing-run.toml"],
            *EXPECTED["tasks/legacy/cleanup.toml"],
            *EXPECTED["tasks/ops/backup.toml"],
        ]
    )


@pytest.mark.parametrize("key", VALID_TASKS)
def test_valid_tasks_load(key: str, catalogue: Catalogue) -> None:
    entry = catalogue.tasks[key]
    assert entry.spec is not None
    assert not entry.broken
    assert entry.problems == []


def test_broken_tasks_are_kept_as_broken_entries(catalogue: Catalogue) -> None:
    by_file = {entry.rel: entry for entry in catalogue.tasks.values()}
    broken_files = set(EXPECTED) - NOT_TASK_ENTRIES
    for rel in broken_files:
        entry = by_file[rel]
        assert entry.broken, rel
        assert [str(p) for p in entry.problems] == EXPECTED[rel]
    assert {rel for rel, entry in by_file.items() if entry.broken} == broken_files


def test_cross_file_problems_keep_the_validated_spec(catalogue: Catalogue) -> None:
    """A task that validated but points at something missing still has its definition."""
    for key in ("clinic/unknown-connection", "clinic/missing-script", "cycle/a", "cycle/b"):
        assert catalogue.tasks[key].spec is not None
    for key in ("clinic/unknown-kind", "clinic/toml-missing-comma", "clinic/missing-run"):
        assert catalogue.tasks[key].spec is None


def test_project_file_errors_do_not_hide_the_projects_tasks(catalogue: Catalogue) -> None:
    assert catalogue.projects["ops"].tasks == ["ops/backup"]
    assert catalogue.projects["ops"].problems
    assert catalogue.projects["legacy"].tasks == ["legacy/cleanup"]
    assert catalogue.projects["legacy"].title == "legacy"


def test_bad_project_folder_and_file_names_are_not_loaded(catalogue: Catalogue) -> None:
    assert "Old_Reports" not in catalogue.projects
    assert not [key for key in catalogue.tasks if key.startswith("Old_Reports/")]
    assert catalogue.task("clinic/extract").rel == "tasks/clinic/extract.toml"
    assert "clinic/Bad Name" not in catalogue.tasks


def test_connections_with_problems_are_kept_apart(catalogue: Catalogue) -> None:
    assert sorted(catalogue.connections) == ["clinic-sftp", "smtp", "warehouse"]
    assert sorted(catalogue.broken_connections) == [
        "both-refs",
        "duft-leaky",
        "leaky-sftp",
        "mystery",
        "no-host",
        "url-password",
    ]


# -- The corpus through the real command line ------------------------------------------
#
# Each case is one bad file in a workspace of its own, next to a valid task in another
# project. `duftui validate` runs in a subprocess with a timeout (a hang fails the case),
# must print exactly the expected located lines and no traceback, and then `duftui run`
# of the valid task must still succeed.

CASES = DATA / "bad_cases"
CASE_TIMEOUT = 90  # seconds per command: each takes well under one on an idle machine; a hang
# never ends, so a generous limit still catches it while a loaded machine passes
SECRETS = "{secrets}"  # stands for the secrets file's path in expected messages

# Cases of the in-process corpus above that need no other file of it.
NEEDS_OTHER_FILES = {
    "tasks/clinic/archive/extract.toml",
    "tasks/clinic/broken-connection.toml",
    "tasks/clinic/unknown-needs.toml",
    "tasks/clinic/self-need.toml",
}
SELF_CONTAINED = sorted(
    rel
    for rel in EXPECTED
    if rel.startswith("tasks/clinic/")
    and rel.count("/") == 2
    and rel not in NEEDS_OTHER_FILES
    and rel != "tasks/clinic/project.toml"
)

CLEAN_CONNECTIONS = """\
[warehouse]
type = "sqlite"
path = "data/warehouse.db"

[clinic-sftp]
type = "sftp"
host = "sftp.example.org"
username = "clinic"
password = { secret = "clinic-sftp.password" }

[smtp]
type = "smtp"
host = "127.0.0.1"
sender = "duftui@localhost"
"""
VALID_TASK = """\
name = "Still runs"
[run]
kind = "command"
command = ["{python}", "-c", "print('the valid task still runs')"]
"""
SECRETS_TEXT = '"clinic-sftp.password" = "s3cret-pass"\n'


def _fifo(ws: Path, secrets: Path) -> None:
    os.mkfifo(ws / "tasks/clinic/fifo.toml")


def _dev_zero(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/zero.toml").symlink_to("/dev/zero")


def _deep_array(ws: Path, secrets: Path) -> None:
    depth = 20_000
    (ws / "tasks/clinic/deep.toml").write_text(
        f'name = "Deep"\ntags = {"[" * depth}{"]" * depth}\n' + RUN_TRUE
    )


def _deep_inline_tables(ws: Path, secrets: Path) -> None:
    depth = 20_000
    (ws / "tasks/clinic/deep-tables.toml").write_text(
        'name = "Deep"\n' + RUN_TRUE + "[run.env]\nX = " + "{ a = " * depth + "1" + " }" * depth
        + "\n"
    )


def _long_dotted_key(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/dotted.toml").write_text(
        'name = "Dotted"\n' + RUN_TRUE + "[params." + ".".join(["a"] * 100_000) + "]\n"
    )


def _deep_mixed(ws: Path, secrets: Path) -> None:
    header = ".".join(["a"] * 40)
    (ws / "tasks/clinic/mixed.toml").write_text(
        'name = "Mixed"\n' + RUN_TRUE + f"[params.{header}]\nx = {'[' * 40}{']' * 40}\n"
    )


def _too_large(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/large.toml").write_text(
        'name = "Large"\n' + RUN_TRUE + ("# padding\n" * 120_000)
    )


def _folder(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/folder.toml").mkdir()


def _dangling(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/dangling.toml").symlink_to("gone.toml")


def _project_fifo(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/project.toml").unlink()
    os.mkfifo(ws / "tasks/clinic/project.toml")


def _connections_dev_zero(ws: Path, secrets: Path) -> None:
    (ws / "connections.toml").unlink()
    (ws / "connections.toml").symlink_to("/dev/zero")


def _connections_dangling(ws: Path, secrets: Path) -> None:
    (ws / "connections.toml").unlink()
    (ws / "connections.toml").symlink_to("gone.toml")


def _script_fifo(ws: Path, secrets: Path) -> None:
    os.mkfifo(ws / "tasks/clinic/scripts/pipe.py")
    (ws / "tasks/clinic/script-fifo.toml").write_text(
        'name = "Pipe"\n[run]\nkind = "python"\nfile = "scripts/pipe.py"\n'
    )


def _linked_folder(ws: Path, secrets: Path) -> None:
    (ws / "tasks/clinic/everything").symlink_to("/")


def _secrets_fifo(ws: Path, secrets: Path) -> None:
    secrets.unlink()
    os.mkfifo(secrets, 0o600)


def _secrets_dev_zero(ws: Path, secrets: Path) -> None:
    secrets.unlink()
    secrets.symlink_to("/dev/zero")


RUN_TRUE = '[run]\nkind = "command"\ncommand = ["true"]\n'
NOT_REGULAR = "definitions are read only from regular files: remove it or replace it with a file"
TOO_DEEP = (
    "invalid TOML: values are nested more than 50 deep (arrays or inline tables inside each "
    "other); a definition never needs that many levels"
)
NUL = (
    "holds a NUL character (\\u0000), which no program argument, file name or environment "
    "variable can carry; remove it"
)

FILE_CASES: dict[str, list[str]] = {
    'command-empty.toml': [
        'tasks/clinic/command-empty.toml:4: run.command[0]: the program to run is empty; write its name or path first, e.g. ["python3", "script.py"]',
    ],
    'connections-nul.toml': [
        'connections.toml:7: ftp-nul.host: holds a NUL character (\\u0000), which no program argument, file name or environment variable can carry; remove it',
    ],
    'cron-l-in-weekday-list.toml': [
        'tasks/clinic/cron-l-in-weekday-list.toml:6: schedule[0].cron: a day of week list cannot mix nth weekdays (like 5#3) with plain weekdays or L; use one schedule for each (in "0 0 ? * 5#2,L")',
    ],
    'cron-l-minus.toml': [
        'tasks/clinic/cron-l-minus.toml:6: schedule[0].cron: day of month L-n (n days before the last day) is not supported; list the days you want, or use L for the last day (in "0 0 0 L-3 * ?")',
    ],
    'cron-last-friday.toml': [
        'tasks/clinic/cron-last-friday.toml:6: schedule[0].cron: day of week nL (the last such weekday of the month, e.g. 5L) is not supported; use an nth weekday such as 5#4, or two schedules (in "0 0 0 ? * 5L")',
    ],
    'cron-nth-mixed-list.toml': [
        'tasks/clinic/cron-nth-mixed-list.toml:6: schedule[0].cron: a day of week list cannot mix nth weekdays (like 5#3) with plain weekdays or L; use one schedule for each (in "0 0 * * 1,5#3")',
    ],
    'cron-nth-with-day.toml': [
        'tasks/clinic/cron-nth-with-day.toml:6: schedule[0].cron: an nth weekday (like 5#2) cannot be combined with a day of month: the scheduler cannot honour both; write ? for the day of month, or use two schedules (in "0 0 0 1 * 5#2")',
    ],
    'cron-random.toml': [
        'tasks/clinic/cron-random.toml:6: schedule[0].cron: R (a random value) is not supported: every process would pick another time; write the value you want (in "R 6 * * *")',
    ],
    'cron-w-list.toml': [
        'tasks/clinic/cron-w-list.toml:6: schedule[0].cron: W (the weekday nearest a day) takes a single day, not a list or range; use one schedule per day (in "0 0 1W,15 * *")',
    ],
    'cron-w-never-months.toml': [
        'tasks/clinic/cron-w-never-months.toml:6: schedule[0].cron: day of month 31 never comes in April, June, September or November, so 31W has no weekday to be near: this schedule would never fire (in "0 0 6 31W 4,6,9,11 *")',
    ],
    'cron-w-never.toml': [
        'tasks/clinic/cron-w-never.toml:6: schedule[0].cron: day of month 31 never comes in February, so 31W has no weekday to be near: this schedule would never fire (in "0 0 31W 2 *")',
    ],
    'deliver-path-directive.toml': [
        'tasks/clinic/deliver-path-directive.toml:9: deliver[0].path: unknown date directive %J in "out/%Y/%J"; use strftime directives such as %Y, %m, %d, %H, %M, %S (write %% for a literal %)',
    ],
    'env-name-equals.toml': [
        'tasks/clinic/env-name-equals.toml:6: run.env.A=B: environment variable name "A=B" cannot hold "=" (it ends the name); use letters, digits and \'_\'',
    ],
    'env-name-nul.toml': [
        'tasks/clinic/env-name-nul.toml:6: run.env.A\\u0000B: the key holds a NUL character (\\u0000), which no program argument, file name or environment variable can carry; remove it',
    ],
    'nul-in-argument.toml': [
        'tasks/clinic/nul-in-argument.toml:4: run.command[1]: holds a NUL character (\\u0000), which no program argument, file name or environment variable can carry; remove it',
    ],
    'nul-in-name.toml': [
        'tasks/clinic/nul-in-name.toml:1: name: holds a NUL character (\\u0000), which no program argument, file name or environment variable can carry; remove it',
    ],
    'output-name-directive.toml': [
        'tasks/clinic/output-name-directive.toml:8: output.name: unknown date directive %q in "visits_%Y%q.csv"; use strftime directives such as %Y, %m, %d, %H, %M, %S (write %% for a literal %)',
    ],
    'param-duftui.toml': [
        "tasks/clinic/param-duftui.toml:5: params.DUFTUI_TASK: parameter name 'DUFTUI_TASK' cannot be used: names starting with DUFTUI_ are duftui's own variables (a parameter becomes an environment variable); rename it, e.g. duftui_task_value",
    ],
    'param-home.toml': [
        "tasks/clinic/param-home.toml:6: params.HOME: parameter name 'HOME' cannot be used: it would replace the HOME environment variable the task needs (a parameter becomes an environment variable); rename it, e.g. home_value",
    ],
    'param-path.toml': [
        "tasks/clinic/param-path.toml:5: params.PATH: parameter name 'PATH' cannot be used: it would replace the PATH environment variable the task needs (a parameter becomes an environment variable); rename it, e.g. path_value",
    ],
    'param-pythonpath.toml': [
        "tasks/clinic/param-pythonpath.toml:5: params.PYTHONPATH: parameter name 'PYTHONPATH' cannot be used: it would replace the PYTHONPATH environment variable the task needs (a parameter becomes an environment variable); rename it, e.g. pythonpath_value",
    ],
    'project-param-vital.toml': [
        "tasks/clinic/project.toml:1: params.PATH: parameter name 'PATH' cannot be used: it would replace the PATH environment variable the task needs (a parameter becomes an environment variable); rename it, e.g. path_value",
    ],
    'project-same-schedule-name.toml': [
        'tasks/clinic/project.toml:5: schedule[1].name: schedule[0] is also named "daily": this schedule would never fire; give each schedule of a project its own name',
    ],
    'project-unknown-schedule-param.toml': [
        "tasks/clinic/project.toml:5: schedule[0].params.regio: unknown parameter 'regio'; did you mean 'region'?",
    ],
    'schedule-name-is-position.toml': [
        'tasks/clinic/schedule-name-is-position.toml:8: schedule[1].name: "0" is also the position of schedule[0], which has no name: this schedule would never fire; give each schedule of a task its own name',
    ],
    'schedule-param-none-declared.toml': [
        "tasks/clinic/schedule-param-none-declared.toml:7: schedule[0].params.day: unknown parameter 'day' (expected one of: region)",
    ],
    'schedule-same-name.toml': [
        'tasks/clinic/schedule-same-name.toml:9: schedule[1].name: schedule[0] is also named "nightly": this schedule would never fire; give each schedule of a task its own name',
    ],
    'schedule-unknown-param.toml': [
        "tasks/clinic/schedule-unknown-param.toml:9: schedule[0].params.regon: unknown parameter 'regon'; did you mean 'region'?",
    ],
    'secret-missing.toml': [
        "tasks/clinic/secret-missing.toml:5: params.token: secret 'clinic.api-token' is not set in {secrets}; run: duftui secret set clinic.api-token (warning)",
    ],
    'secrets-bad-mode.toml': [
        '{secrets}: refusing to read secrets from a file with mode 0644; other users could read it. Run: chmod 600 {secrets}',
    ],
    'secrets-bad-toml.toml': [
        '{secrets}:1: not valid TOML: a string is not closed before the end of the line',
    ],
    'template-arithmetic.toml': [
        "tasks/clinic/template-arithmetic.toml:6: params.half.default: cannot do arithmetic on %p in '%p+1'; use %Y, %m, %d, %H, %M or %S",
    ],
    'template-unknown-directive.toml': [
        'tasks/clinic/template-unknown-directive.toml:6: params.day.default: unknown date directive %Q in "parse(%Q)"; use strftime directives such as %Y, %m, %d, %H, %M, %S (write %% for a literal %)',
    ],
}

GENERATED: dict[str, tuple[Callable[[Path, Path], None], list[str]]] = {
    "fifo": (_fifo, [f"tasks/clinic/fifo.toml: not a regular file but a named pipe (FIFO); {NOT_REGULAR}"]),
    "dev-zero": (_dev_zero, [
        "tasks/clinic/zero.toml: not a regular file but a symbolic link to a character device "
        f"(/dev/zero); {NOT_REGULAR}"
    ]),
    "deep-array": (_deep_array, [f"tasks/clinic/deep.toml:2: {TOO_DEEP}"]),
    "deep-inline-tables": (_deep_inline_tables, [f"tasks/clinic/deep-tables.toml:6: {TOO_DEEP}"]),
    "long-dotted-key": (_long_dotted_key, [
        "tasks/clinic/dotted.toml:5: invalid TOML: a key has more than 50 dotted parts; a "
        "definition never needs that many levels"
    ]),
    "deep-mixed": (_deep_mixed, [
        "tasks/clinic/mixed.toml:6: params." + ".".join(["a"] * 40) + ".x"
        + "[0]" * 22 + ": values are nested more than 64 deep; a definition never needs that "
        "many levels"
    ]),
    "too-large": (_too_large, [
        "tasks/clinic/large.toml: file is larger than 1 MiB (1.1 MiB), the most a definition "
        "file may hold: split it, or remove what does not belong in it"
    ]),
    "folder": (_folder, [f"tasks/clinic/folder.toml: not a regular file but a folder; {NOT_REGULAR}"]),
    "dangling-link": (_dangling, [
        "tasks/clinic/dangling.toml: a symbolic link to a missing file (gone.toml): remove it "
        "or point it at a file"
    ]),
    "project-fifo": (_project_fifo, [
        f"tasks/clinic/project.toml: not a regular file but a named pipe (FIFO); {NOT_REGULAR}",
    ]),
    "connections-dev-zero": (_connections_dev_zero, [
        "connections.toml: not a regular file but a symbolic link to a character device "
        f"(/dev/zero); {NOT_REGULAR}"
    ]),
    "connections-dangling-link": (_connections_dangling, [
        "connections.toml: a symbolic link to a missing file (gone.toml): remove it or point "
        "it at a file"
    ]),
    "script-fifo": (_script_fifo, [
        "tasks/clinic/script-fifo.toml:4: run.file: tasks/clinic/scripts/pipe.py: not a regular "
        "file but a named pipe (FIFO); scripts are read only from regular files: remove it or "
        "replace it with a file"
    ]),
    "linked-folder": (_linked_folder, [
        "tasks/clinic/everything: a symbolic link to a folder is not followed for task files "
        "(it could lead anywhere); move the task files into the project folder"
    ]),
    "secrets-fifo": (_secrets_fifo, [
        f"{SECRETS}: not a regular file but a named pipe (FIFO); secrets are read only from "
        "regular files: remove it or replace it with a file"
    ]),
    "secrets-dev-zero": (_secrets_dev_zero, [
        f"{SECRETS}: not a regular file but a symbolic link to a character device (/dev/zero); "
        "secrets are read only from regular files: remove it or replace it with a file"
    ]),
}


def _place_file(name: str) -> Callable[[Path, Path], None]:
    """A file of tests/data/bad_cases put where its name says: `project-…` is the
    project's project.toml, `connections-…` the connections file, `secrets-…` the secrets
    file (`secrets-bad-mode` with mode 0644), anything else a task file."""

    def place(ws: Path, secrets: Path) -> None:
        text = (CASES / name).read_bytes()
        if name.startswith("project-"):
            target = ws / "tasks/clinic/project.toml"
        elif name.startswith("connections-"):
            target = ws / "connections.toml"
        elif name.startswith("secrets-"):
            target = secrets
        else:
            target = ws / "tasks/clinic" / name
        target.write_bytes(text)
        if target == secrets:
            os.chmod(secrets, 0o644 if "bad-mode" in name else 0o600)

    return place


def _copy_corpus_file(rel: str) -> Callable[[Path, Path], None]:
    def place(ws: Path, secrets: Path) -> None:
        shutil.copyfile(WORKSPACE / rel, ws / rel)

    return place


def all_cases() -> dict[str, tuple[Callable[[Path, Path], None], list[str]]]:
    cases = {f"corpus:{rel}": (_copy_corpus_file(rel), EXPECTED[rel]) for rel in SELF_CONTAINED}
    cases.update({f"file:{name}": (_place_file(name), lines) for name, lines in FILE_CASES.items()})
    cases.update({f"made:{name}": case for name, case in GENERATED.items()})
    return cases


def make_case_workspace(root: Path, setup: Callable[[Path, Path], None]) -> tuple[Path, Path]:
    """A workspace with the corpus' clean connections, project and scripts, a valid task
    in project `other`, a secrets file, and then the bad file of the case."""
    ws = root / "ws"
    clinic = ws / "tasks/clinic"
    clinic.mkdir(parents=True)
    (ws / "connections.toml").write_text(CLEAN_CONNECTIONS)
    shutil.copyfile(WORKSPACE / "tasks/clinic/project.toml", clinic / "project.toml")
    shutil.copytree(WORKSPACE / "tasks/clinic/scripts", clinic / "scripts")
    shutil.copytree(WORKSPACE / "tasks/clinic/sql", clinic / "sql")
    (ws / "tasks/other").mkdir()
    (ws / "tasks/other/ok.toml").write_text(VALID_TASK.format(python=sys.executable))
    secrets = root / "config" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(SECRETS_TEXT)
    os.chmod(secrets, 0o600)
    setup(ws, secrets)
    return ws, secrets


def run_cli(ws: Path, secrets: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = python_env()
    env["DUFTUI_SECRETS"] = str(secrets)
    return subprocess.run(
        [sys.executable, "-m", "duftui", "--workspace", str(ws), *args],
        capture_output=True, text=True, env=env, timeout=CASE_TIMEOUT,
    )

CLI_CASES = all_cases()
# `duftui run` of the valid task for every hostile file and a sample of the rest (a run
# costs a few seconds of startup on a loaded machine); every case checks in-process that
# the valid task loads and is not broken.
RUN_CASES = {
    case
    for case in CLI_CASES
    if case.startswith(("made:", "file:secrets-", "file:connections-", "file:project-"))
} | {"file:command-empty.toml", "corpus:tasks/clinic/toml-not-utf8.toml"}


def test_cli_corpus_holds_at_least_45_cases() -> None:
    assert len(CLI_CASES) >= 45
    assert len(FILE_CASES) == len(list(CASES.iterdir()))


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_case_reports_the_located_message(case: str, tmp_path: Path) -> None:
    setup, expected = CLI_CASES[case]
    ws, secrets = make_case_workspace(tmp_path, setup)
    expected = [line.replace(SECRETS, str(secrets)) for line in expected]
    result = run_cli(ws, secrets, "validate")
    assert "Traceback" not in result.stdout + result.stderr
    printed = result.stdout.splitlines()
    if all(line.endswith("(warning)") for line in expected):
        assert result.returncode == 0, result.stderr
        assert printed[:-1] == expected
        assert printed[-1].startswith("ok: ")
    else:
        assert result.returncode == 1, result.stderr
        assert printed == expected
        assert result.stderr.startswith(f"{len(expected)} error(s)")
    catalogue = load_workspace(ws)
    assert not catalogue.tasks["other/ok"].broken
    if case in RUN_CASES:
        ran = run_cli(ws, secrets, "run", "other/ok")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "the valid task still runs" in ran.stdout
        assert "Traceback" not in ran.stdout + ran.stderr
