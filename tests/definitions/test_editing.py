"""The task form's operations on real files: create, edit (comments kept), conflicts,
validation with `duftui validate`'s own messages, reschedule and duplicate, audit rows."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from duftui.definitions import Task, load_workspace
from duftui.definitions.editing import (
    ABSENT,
    FileChanged,
    NotFound,
    ValidationFailed,
    duplicate_task,
    open_task,
    problems_under,
    reschedule_task,
    save_task,
    validate_task,
)
from duftui.store.audit import recent
from duftui.store.db import Store
from tests.conftest import Cli, write

EXTRACT = """\
# Nightly extract, owned by ops.
name = "Extract"   # shown in the console
description = "Pulls data"
enabled = true

[run]
kind = "python"  # the only kind we use
file = "scripts/extract.py"

[retry]
# three tries, then give up
retries = 3
delay = "30s"

[[schedule]]
cron = "0 6 * * *"  # six in the morning

[[schedule]]
every = "1h"
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root / "connections.toml", '[db]\ntype = "sqlite"\npath = "db.sqlite"\n')
    write(root / "tasks" / "ops" / "project.toml", 'name = "Operations"\n')
    write(root / "tasks" / "ops" / "scripts" / "extract.py", "print('hi')\n")
    write(root / "tasks" / "ops" / "extract.toml", EXTRACT)
    write(
        root / "tasks" / "ops" / "load.toml",
        'name = "Load"\nneeds = ["extract"]\n\n[run]\nkind = "python"\n'
        'file = "scripts/extract.py"\n',
    )
    return root


@pytest.fixture
def store(ws: Path) -> Iterator[Store]:
    """The workspace's own state file, so greps over the workspace include it."""
    opened = Store(ws / ".duftui" / "state.db")
    yield opened
    opened.close()


def audit_rows(store: Store) -> list[tuple[str, str, str, dict[str, Any]]]:
    with store.read() as conn:
        rows = recent(conn)
    return [(r.action, r.target, r.user, json.loads(r.detail or "{}")) for r in reversed(rows)]


def spec_of(root: Path, key: str) -> Task:
    entry = load_workspace(root).task(key)
    assert entry.spec is not None and not entry.broken, [str(p) for p in entry.problems]
    return entry.spec


NEW_TASK: dict[str, Any] = {
    # What a form holds: every field, defaults filled in, None for "not set".
    "name": "Nightly report",
    "description": "",
    "enabled": True,
    "hidden": False,
    "rank": 0,
    "owner": None,
    "tags": ["nightly"],
    "needs": ["extract"],
    "timeout": timedelta(minutes=90),
    "run": {"kind": "python", "file": "scripts/extract.py", "cwd": "task", "connections": []},
    "params": {"day": {"default": "parse(%Y-%m-%d-1)", "allow_override": True, "secret": False}},
    "retry": {"retries": 2, "delay": "30s", "backoff": 2.0, "jitter": True},
    "schedule": [{"cron": "0 30 6 * * *", "misfire": "coalesce", "timezone": "UTC"}],
    "deliver": [],
}


# -- create ---------------------------------------------------------------------------


def test_new_task_is_written_clean_and_loads_back_to_the_form(ws: Path, store: Store) -> None:
    result = save_task(ws, "ops", "report", NEW_TASK, opened_digest=None, user="ann", store=store)
    assert result.created and result.changed and result.rel == "tasks/ops/report.toml"
    text = (ws / "tasks" / "ops" / "report.toml").read_text()
    assert (
        text
        == result.text
        == (
            'name = "Nightly report"\n'
            'tags = ["nightly"]\n'
            'needs = ["extract"]\n'
            'timeout = "1h30m"\n'
            "\n"
            "[run]\n"
            'kind = "python"\n'
            'file = "scripts/extract.py"\n'
            "\n"
            "[params.day]\n"
            'default = "parse(%Y-%m-%d-1)"\n'
            "allow_override = true\n"
            "\n"
            "[retry]\n"
            "retries = 2\n"
            "\n"
            "[[schedule]]\n"
            'cron = "0 30 6 * * *"\n'
            'timezone = "UTC"\n'
        )
    )
    form = {k: v for k, v in NEW_TASK.items() if v is not None}
    assert spec_of(ws, "ops/report") == Task.model_validate({**form, "timeout": "90m"})
    assert result.digest == open_task(load_workspace(ws), "ops/report").digest
    assert audit_rows(store) == [("new", "ops/report", "ann", {"file": "tasks/ops/report.toml"})]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "Report",
            "task key 'Report' is not valid: use lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit",
        ),
        ("extract", "task key 'extract' is taken (tasks/ops/extract.toml); choose another"),
    ],
)
def test_new_task_key_must_be_valid_and_free(ws: Path, key: str, message: str) -> None:
    before = (ws / "tasks" / "ops" / "extract.toml").read_text()
    with pytest.raises(ValidationFailed) as failed:
        save_task(ws, "ops", key, NEW_TASK, opened_digest=None)
    assert [p.message for p in problems_under(failed.value.problems, "key")] == [message]
    assert (ws / "tasks" / "ops" / "extract.toml").read_text() == before
    assert not (ws / "tasks" / "ops" / "Report.toml").exists()


def test_new_task_in_a_grouping_folder_key_is_taken_too(ws: Path) -> None:
    write(ws / "tasks" / "ops" / "nightly" / "rollup.toml", EXTRACT)
    problems = validate_task(load_workspace(ws), "ops", "rollup", NEW_TASK, new=True)
    assert [p.message for p in problems] == [
        "task key 'rollup' is taken (tasks/ops/nightly/rollup.toml); choose another"
    ]


# -- validation: the same messages as `duftui validate` ---------------------------------


def test_invalid_cron_blocks_saving_with_the_located_validate_message(ws: Path) -> None:
    catalogue = load_workspace(ws)
    draft = open_task(catalogue, "ops/extract")
    data = draft.data
    assert data is not None
    data["schedule"][0]["cron"] = "0 25 * * *"
    expected = (
        'tasks/ops/extract.toml:16: schedule[0].cron: expected hour 0-23, got 25 (in "0 25 * * *")'
    )
    problems = validate_task(catalogue, "ops", "extract", data)
    assert [str(p) for p in problems] == [expected]
    assert [p.field for p in problems_under(problems, "schedule[0]")] == ["schedule[0].cron"]
    with pytest.raises(ValidationFailed) as failed:
        save_task(ws, "ops", "extract", data, opened_digest=draft.digest)
    assert [str(p) for p in failed.value.problems] == [expected]
    assert (ws / "tasks" / "ops" / "extract.toml").read_text() == EXTRACT
    # The same edit made by hand: `duftui validate` prints exactly that line.
    write(ws / "tasks" / "ops" / "extract.toml", EXTRACT.replace("0 6 * * *", "0 25 * * *"))
    result = Cli(ws)("validate", "--no-secrets")
    assert result.exit_code == 1
    assert expected in result.output.splitlines()


def test_cross_file_problems_match_validate(ws: Path) -> None:
    catalogue = load_workspace(ws)
    data = open_task(catalogue, "ops/extract").data
    assert data is not None
    data["run"]["file"] = "scripts/gone.py"
    data["run"]["connections"] = ["dbb"]
    data["needs"] = ["load"]  # load needs extract: a cycle
    problems = [str(p) for p in validate_task(catalogue, "ops", "extract", data)]
    write(ws / "tasks" / "ops" / "extract.toml", save_text(ws, data))
    printed = Cli(ws)("validate", "--no-secrets").output.splitlines()
    assert problems == [line for line in printed if line.startswith("tasks/ops/extract.toml")]
    assert problems == [
        "tasks/ops/extract.toml:5: needs: dependency cycle: extract → load → extract "
        "(each needs the next)",
        "tasks/ops/extract.toml:9: run.file: file not found: tasks/ops/scripts/gone.py "
        "(paths are relative to tasks/ops/)",
        "tasks/ops/extract.toml:10: run.connections[0]: unknown connection 'dbb'; "
        "did you mean 'db'?",
    ]


def save_text(root: Path, data: dict[str, Any]) -> str:
    """The text a save would write for `data`: the file on disk, updated in place."""
    from duftui.definitions.writer import update_document

    return update_document((root / "tasks" / "ops" / "extract.toml").read_text(), data)


def test_missing_name_and_unknown_field_are_located(ws: Path) -> None:
    catalogue = load_workspace(ws)
    data = {"run": {"kind": "pyton", "file": "scripts/extract.py"}, "scheduel": []}
    problems = validate_task(catalogue, "ops", "fresh", data, new=True)
    assert [str(p) for p in problems] == [
        "tasks/ops/fresh.toml: name: required field is missing",
        "tasks/ops/fresh.toml:1: scheduel: unknown field; did you mean 'schedule'?",
        "tasks/ops/fresh.toml:4: run.kind: expected one of python, notebook, sql, files, ssh, "
        "command, got \"pyton\"; did you mean 'python'?",
    ]


def test_unknown_project_is_a_problem(ws: Path) -> None:
    problems = validate_task(load_workspace(ws), "opz", "x", NEW_TASK, new=True)
    assert (problems[0].field, problems[0].message) == (
        "project",
        "no project 'opz'; did you mean 'ops'?",
    )


# -- editing a hand-written file ----------------------------------------------------------


def test_edit_keeps_comments_and_key_order(ws: Path, store: Store) -> None:
    draft = open_task(load_workspace(ws), "ops/extract")
    data = draft.data
    assert data is not None and draft.digest != ABSENT
    data["schedule"][0]["cron"] = "30 6 * * *"
    # A form fills in every field; defaults the file does not set must stay out of it.
    data["retry"].update(backoff=2.0, jitter=True, max_delay="30m")
    data["schedule"][1].update(misfire="coalesce", enabled=True, timezone=None)
    data["hidden"] = False
    result = save_task(
        ws, "ops", "extract", data, opened_digest=draft.digest, store=store, user="bob"
    )
    text = (ws / "tasks" / "ops" / "extract.toml").read_text()
    assert text == EXTRACT.replace('cron = "0 6 * * *"', 'cron = "30 6 * * *"')
    assert result.changed and not result.created
    assert spec_of(ws, "ops/extract").schedule[0].cron == "30 6 * * *"
    assert audit_rows(store) == [("edit", "ops/extract", "bob", {"file": "tasks/ops/extract.toml"})]


def test_edit_adds_new_keys_where_a_person_would(ws: Path) -> None:
    draft = open_task(load_workspace(ws), "ops/extract")
    data = draft.data
    assert data is not None
    data["tags"] = ["nightly"]
    data["run"]["env"] = {"TZ": "UTC"}
    data["params"] = {"token": {"default": {"secret": "ops.token"}, "secret": True}}
    data["retry"]["retries"] = 5
    del data["schedule"][1]
    save_task(ws, "ops", "extract", data, opened_digest=draft.digest)
    assert (ws / "tasks" / "ops" / "extract.toml").read_text() == (
        "# Nightly extract, owned by ops.\n"
        'name = "Extract"   # shown in the console\n'
        'description = "Pulls data"\n'
        "enabled = true\n"
        'tags = ["nightly"]\n'
        "\n"
        "[run]\n"
        'kind = "python"  # the only kind we use\n'
        'file = "scripts/extract.py"\n'
        "\n"
        "[run.env]\n"
        'TZ = "UTC"\n'
        "\n"
        "[retry]\n"
        "# three tries, then give up\n"
        "retries = 5\n"
        'delay = "30s"\n'
        "\n"
        "[[schedule]]\n"
        'cron = "0 6 * * *"  # six in the morning\n'
        "\n"
        "[params.token]\n"
        'default = {secret = "ops.token"}\n'
        "secret = true\n"
    )
    assert spec_of(ws, "ops/extract").params["token"].secret


def test_saving_unchanged_data_writes_nothing(ws: Path, store: Store) -> None:
    draft = open_task(load_workspace(ws), "ops/extract")
    mtime = (ws / "tasks" / "ops" / "extract.toml").stat().st_mtime_ns
    result = save_task(
        ws, "ops", "extract", draft.data or {}, opened_digest=draft.digest, store=store
    )
    assert not result.changed and result.digest == draft.digest
    assert (ws / "tasks" / "ops" / "extract.toml").stat().st_mtime_ns == mtime
    assert audit_rows(store) == []


def test_file_changed_on_disk_since_the_form_opened(ws: Path) -> None:
    draft = open_task(load_workspace(ws), "ops/extract")
    data = draft.data
    assert data is not None
    data["description"] = "From the form"
    path = ws / "tasks" / "ops" / "extract.toml"
    by_hand = EXTRACT.replace("retries = 3", "retries = 4")
    write(path, by_hand)
    with pytest.raises(FileChanged) as changed:
        save_task(ws, "ops", "extract", data, opened_digest=draft.digest)
    assert changed.value.opened == draft.digest
    assert changed.value.current == open_task(load_workspace(ws), "ops/extract").digest
    assert "changed on disk since the form opened it" in str(changed.value)
    assert path.read_text() == by_hand
    # Overwrite: the form's values win, the file's comments stay.
    save_task(ws, "ops", "extract", data, opened_digest=draft.digest, overwrite=True)
    assert path.read_text() == EXTRACT.replace('"Pulls data"', '"From the form"')


def test_file_deleted_since_the_form_opened(ws: Path) -> None:
    draft = open_task(load_workspace(ws), "ops/extract")
    (ws / "tasks" / "ops" / "extract.toml").unlink()
    with pytest.raises(FileChanged) as changed:
        save_task(ws, "ops", "extract", draft.data or {}, opened_digest=draft.digest)
    assert changed.value.current == ABSENT
    assert "was deleted" in str(changed.value)


def test_broken_toml_opens_without_data(ws: Path) -> None:
    write(ws / "tasks" / "ops" / "extract.toml", 'name = "x\n')
    draft = open_task(load_workspace(ws), "ops/extract")
    assert draft.data is None
    assert [str(p) for p in draft.problems] == [
        "tasks/ops/extract.toml:1: invalid TOML: a string is not closed before the end of the line"
    ]


# -- reschedule and duplicate -------------------------------------------------------------


def test_reschedule_replaces_schedules_and_enabled_only(ws: Path, store: Store) -> None:
    draft = open_task(load_workspace(ws), "ops/extract")
    result = reschedule_task(
        ws,
        "ops/extract",
        [{"cron": "0 7 * * 1-5", "timezone": "Europe/Amsterdam"}],
        False,
        opened_digest=draft.digest,
        store=store,
        user="cy",
    )
    assert (ws / "tasks" / "ops" / "extract.toml").read_text() == EXTRACT.replace(
        "enabled = true", "enabled = false"
    ).replace(
        'cron = "0 6 * * *"  # six in the morning\n\n[[schedule]]\nevery = "1h"\n',
        'cron = "0 7 * * 1-5"  # six in the morning\ntimezone = "Europe/Amsterdam"\n',
    )
    assert result.changed
    assert audit_rows(store) == [
        (
            "reschedule",
            "ops/extract",
            "cy",
            {"file": "tasks/ops/extract.toml", "schedules": 1, "enabled": False},
        ),
    ]
    reschedule_task(ws, "ops/extract", [], True)
    spec = spec_of(ws, "ops/extract")
    assert spec.schedule == [] and spec.enabled
    assert "[[schedule]]" not in (ws / "tasks" / "ops" / "extract.toml").read_text()


def test_reschedule_with_a_bad_timezone_is_refused(ws: Path) -> None:
    with pytest.raises(ValidationFailed) as failed:
        reschedule_task(ws, "ops/extract", [{"every": "1h", "timezone": "Europe/Amsterdm"}], True)
    assert [str(p) for p in failed.value.problems] == [
        "tasks/ops/extract.toml:17: schedule[0].timezone: unknown time zone "
        "\"Europe/Amsterdm\"; did you mean 'Europe/Amsterdam'?"
    ]
    assert (ws / "tasks" / "ops" / "extract.toml").read_text() == EXTRACT


def test_duplicate_is_disabled_renamed_and_keeps_comments(ws: Path, store: Store) -> None:
    first = duplicate_task(ws, "ops/extract", store=store, user="dee")
    second = duplicate_task(ws, "extract")
    assert (first.target, second.target) == ("ops/extract-copy", "ops/extract-copy-2")
    expected = EXTRACT.replace('"Extract"', '"Extract (copy)"').replace(
        "enabled = true", "enabled = false"
    )
    assert (ws / "tasks" / "ops" / "extract-copy.toml").read_text() == expected
    assert (ws / "tasks" / "ops" / "extract.toml").read_text() == EXTRACT
    copy = spec_of(ws, "ops/extract-copy")
    assert not copy.enabled and copy.name == "Extract (copy)"
    assert copy.schedule == spec_of(ws, "ops/extract").schedule
    assert audit_rows(store) == [
        (
            "duplicate",
            "ops/extract-copy",
            "dee",
            {"file": "tasks/ops/extract-copy.toml", "from": "ops/extract"},
        ),
    ]


def test_duplicate_without_enabled_key_adds_it_after_the_values(ws: Path) -> None:
    result = duplicate_task(ws, "ops/load", "load-2")
    assert result.text == (
        'name = "Load (copy)"\nneeds = ["extract"]\nenabled = false\n\n[run]\n'
        'kind = "python"\nfile = "scripts/extract.py"\n'
    )
    with pytest.raises(ValidationFailed) as failed:
        duplicate_task(ws, "ops/load", "load-2")
    assert failed.value.problems[0].field == "key"
    with pytest.raises(NotFound):
        duplicate_task(ws, "ops/nope")


def test_a_file_that_is_not_utf8_is_never_rewritten(ws: Path) -> None:
    path = ws / "tasks" / "ops" / "extract.toml"
    path.write_bytes(EXTRACT.encode().replace(b"Pulls data", b"Pulls d\xe9ta"))
    message = "tasks/ops/extract.toml:3: file is not valid UTF-8; save it with UTF-8 encoding"
    catalogue = load_workspace(ws)
    assert [str(p) for p in open_task(catalogue, "ops/extract").problems] == [message]
    data = tomllib.loads(EXTRACT)
    assert [str(p) for p in validate_task(catalogue, "ops", "extract", data)] == [message]
    with pytest.raises(ValidationFailed):
        save_task(ws, "ops", "extract", data, opened_digest=ABSENT, overwrite=True)
    assert b"d\xe9ta" in path.read_bytes()
