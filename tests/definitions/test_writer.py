"""Definitions back to TOML: round trips, comment-keeping edits and atomic writes."""

from __future__ import annotations

import os
import stat
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duftui.definitions import Task, load_workspace
from duftui.definitions.durations import format_duration
from duftui.definitions.models import Project
from duftui.definitions.writer import (
    dumps_project,
    dumps_task,
    model_document,
    update_document,
    write_atomic,
)
from tests.conftest import REPO


def _example_tasks() -> list[str]:
    return sorted(load_workspace(REPO).tasks)


@pytest.mark.parametrize("key", _example_tasks())
def test_every_example_task_round_trips(key: str) -> None:
    spec = load_workspace(REPO).task(key).spec
    assert spec is not None
    text = dumps_task(spec)
    assert Task.model_validate(tomllib.loads(text)) == spec


def test_example_projects_round_trip() -> None:
    for entry in load_workspace(REPO).projects.values():
        text = dumps_project(entry.spec)
        assert Project.model_validate(tomllib.loads(text)) == entry.spec


def test_dump_leaves_out_defaults_and_writes_durations_as_text() -> None:
    task = Task.model_validate(
        {
            "name": "Nightly",
            "enabled": True,
            "timeout": "90m",
            "run": {"kind": "python", "file": "x.py", "cwd": "task"},
            "retry": {"attempts": 2, "delay": "30s"},
            "schedule": [{"every": "1h"}, {"cron": {"hour": 6}}],
        }
    )
    assert dumps_task(task) == (
        'name = "Nightly"\n'
        'timeout = "1h30m"\n'
        "\n"
        "[run]\n"
        'kind = "python"\n'
        'file = "x.py"\n'
        "\n"
        "[retry]\n"
        "attempts = 2\n"
        "\n"
        "[[schedule]]\n"
        'every = "1h"\n'
        "\n"
        "[[schedule]]\n"
        "[schedule.cron]\n"
        "hour = 6\n"
    )


# -- generated tasks -------------------------------------------------------------------

texts = st.text(max_size=30)
durations = st.integers(min_value=1, max_value=10**10).map(lambda ms: timedelta(milliseconds=ms))
duration_texts = st.one_of(
    durations.map(format_duration), durations.map(lambda d: f"{d // timedelta(milliseconds=1)}ms")
)
minutes = st.one_of(st.just("*"), st.integers(0, 59).map(str), st.just("*/5"), st.just("0-30/10"))
hours = st.one_of(st.just("*"), st.integers(0, 23).map(str), st.just("6,18"))
weekdays = st.sampled_from(["*", "1-5", "0", "MON-FRI", "sat,sun"])
crons_5 = st.tuples(minutes, hours, st.just("*"), st.just("*"), weekdays).map(" ".join)
crons_6 = st.tuples(
    st.integers(0, 59).map(str), minutes, hours, st.just("*"), st.just("*"), weekdays
)
cron_tables = st.fixed_dictionaries(
    {}, optional={"minute": st.integers(0, 59), "hour": hours, "day_of_week": weekdays}
)
schedules = st.one_of(
    st.fixed_dictionaries({"every": duration_texts}),
    st.fixed_dictionaries({"cron": st.one_of(crons_5, crons_6.map(" ".join), cron_tables)}),
).flatmap(
    lambda base: st.fixed_dictionaries(
        {key: st.just(value) for key, value in base.items()},
        optional={
            "name": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
            "timezone": st.sampled_from(["UTC", "Europe/Amsterdam", "Africa/Nairobi"]),
            "enabled": st.booleans(),
            "misfire": st.sampled_from(["skip", "coalesce", "all"]),
        },
    )
)
scalars = st.one_of(
    texts,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
)
param_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
params = st.dictionaries(
    param_names,
    st.one_of(
        scalars,
        st.fixed_dictionaries(
            {"default": scalars},
            optional={"title": texts, "allow_override": st.booleans(), "secret": st.booleans()},
        ),
    ),
    max_size=4,
)
tasks = st.fixed_dictionaries(
    {
        "name": texts,
        "run": st.fixed_dictionaries(
            {"kind": st.just("python"), "file": st.just("scripts/x.py")},
            optional={
                "args": st.lists(texts, max_size=3),
                "cwd": st.sampled_from(["task", "root"]),
            },
        ),
    },
    optional={
        "description": texts,
        "tags": st.lists(texts, max_size=4),
        "enabled": st.booleans(),
        "rank": st.integers(-1000, 1000),
        "timeout": duration_texts,
        "retry": st.fixed_dictionaries(
            {},
            optional={
                "attempts": st.integers(0, 1000),
                "delay": duration_texts,
                "backoff": st.floats(min_value=1.0, max_value=100.0),
                "jitter": st.booleans(),
            },
        ),
        "schedule": st.lists(schedules, max_size=3),
        "params": params,
    },
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(tasks)
def test_generated_task_round_trips(data: dict[str, Any]) -> None:
    task = Task.model_validate(data)
    text = dumps_task(task)
    assert Task.model_validate(tomllib.loads(text)) == task


@settings(max_examples=50)
@given(tasks, tasks)
def test_update_document_turns_one_task_into_another(first: dict, second: dict) -> None:
    old, new = Task.model_validate(first), Task.model_validate(second)
    text = update_document(dumps_task(old), new)
    assert Task.model_validate(tomllib.loads(text)) == new


# -- editing a hand-written file -------------------------------------------------------

HAND_WRITTEN = """\
# Nightly extract, owned by ops.
name = "Extract"   # shown in the console
description = "Pulls data"
enabled = true

[run]
kind = "python"  # the only kind we use
file = "scripts/extract.py"

[retry]
# three tries, then give up
attempts = 3
delay = "30s"

[[schedule]]
cron = "0 6 * * *"  # six in the morning

[[schedule]]
every = "1h"
"""


def test_update_document_keeps_comments_and_order() -> None:
    task = Task.model_validate(tomllib.loads(HAND_WRITTEN))
    changed = task.model_copy(
        update={"name": "Extract v2", "retry": task.retry.model_copy(update={"attempts": 5})}
    )
    text = update_document(HAND_WRITTEN, changed)
    assert text == HAND_WRITTEN.replace('"Extract"', '"Extract v2"').replace(
        "attempts = 3", "attempts = 5"
    )


def test_update_document_edits_inside_an_array_of_tables() -> None:
    task = Task.model_validate(tomllib.loads(HAND_WRITTEN))
    first = task.schedule[0].model_copy(update={"timezone": "UTC"})
    text = update_document(HAND_WRITTEN, task.model_copy(update={"schedule": [first]}))
    assert text.endswith(
        '[[schedule]]\ncron = "0 6 * * *"  # six in the morning\ntimezone = "UTC"\n'
    )
    assert "every" not in text
    assert text.startswith("# Nightly extract, owned by ops.\n")


def test_update_document_with_plain_data_drops_missing_keys() -> None:
    text = 'a = 1  # keep me\nb = 2\n\n[t]\nc = "x"\n'
    assert update_document(text, {"a": 1, "t": {"c": "y"}}) == 'a = 1  # keep me\n\n[t]\nc = "y"\n'


def test_model_document_is_plain_data() -> None:
    task = Task.model_validate(
        {"name": "x", "timeout": "2h", "run": {"kind": "command", "command": ["true"]}}
    )
    assert model_document(task) == {
        "name": "x",
        "timeout": "2h",
        "run": {"kind": "command", "command": ["true"]},
    }


# -- atomic writes ---------------------------------------------------------------------


def test_write_atomic_creates_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "ws" / "deep" / "task.toml"
    write_atomic(target, 'name = "x"\r\n')
    assert target.read_bytes() == b'name = "x"\r\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["task.toml"]


def test_write_atomic_keeps_the_mode_of_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "ws" / "task.toml"
    target.parent.mkdir()
    target.write_text("old\n")
    os.chmod(target, 0o640)
    inode = target.stat().st_ino
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode
    assert sorted(p.name for p in target.parent.iterdir()) == ["task.toml"]


def test_write_atomic_failure_keeps_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "ws" / "task.toml"
    target.parent.mkdir()
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "bad \udcff surrogate")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["task.toml"]
