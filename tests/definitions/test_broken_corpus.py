"""The broken-definitions corpus: every failure mode has one small file, and its message.

`tests/data/broken_workspace` is loaded once; each file's problems are compared with the
exact text a user would see, so a vague, misplaced or misleading message fails here.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from duftui.definitions import Catalogue, load_workspace
from tests.conftest import DATA

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
