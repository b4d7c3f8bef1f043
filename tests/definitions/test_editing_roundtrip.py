"""Forms that show every field change nothing they were not asked to change: defaults a
form fills in stay out of the file, durations keep their spelling, and connections.toml
tables are cut and put back as whole blocks."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from duftui.definitions import load_workspace
from duftui.definitions.connection_edit import cut_table
from duftui.definitions.edit_base import normalize, write_new
from duftui.definitions.editing import open_task, save_task
from tests.conftest import REPO, write


def _overlay(defaults: Any, raw: Any) -> Any:
    """The file's own values over every default, the way a form shows a task."""
    if isinstance(defaults, dict) and isinstance(raw, dict):
        merged = dict(defaults)
        for key, value in raw.items():
            merged[key] = _overlay(defaults.get(key), value)
        return merged
    if isinstance(defaults, list) and isinstance(raw, list):
        return [_overlay(defaults[i] if i < len(defaults) else None, v) for i, v in enumerate(raw)]
    return raw


def _examples() -> list[str]:
    return sorted(load_workspace(REPO).tasks)


@pytest.mark.parametrize("key", _examples())
def test_a_form_with_every_default_filled_in_saves_no_change(
    key: str, example_workspace: Path
) -> None:
    catalogue = load_workspace(example_workspace)
    entry = catalogue.task(key)
    assert entry.spec is not None
    draft = open_task(catalogue, key)
    defaults = normalize(entry.spec.model_dump(mode="python", exclude_none=True))
    form = _overlay(defaults, draft.data)
    result = save_task(
        example_workspace, entry.project, entry.name, form, opened_digest=draft.digest
    )
    assert not result.changed, result.text
    assert entry.path.read_text() == (REPO / entry.rel).read_text()


def test_untouched_durations_keep_their_spelling(tmp_path: Path) -> None:
    text = 'name = "T"\ntimeout = "90m"\n\n[run]\nkind = "command"\ncommand = ["true"]\n'
    write(tmp_path / "tasks" / "p" / "t.toml", text)
    draft = open_task(load_workspace(tmp_path), "p/t")
    form = dict(draft.data or {}, timeout=timedelta(minutes=90))
    assert not save_task(tmp_path, "p", "t", form, opened_digest=draft.digest).changed
    form["timeout"] = timedelta(hours=2)
    result = save_task(tmp_path, "p", "t", form, opened_digest=draft.digest)
    assert result.text == text.replace('"90m"', '"2h"')


def test_write_new_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "task.toml"
    write_new(target, "one\n")
    with pytest.raises(FileExistsError):
        write_new(target, "two\n")
    assert target.read_text() == "one\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["task.toml"]


@pytest.mark.parametrize("name", list(tomllib.loads((REPO / "connections.toml").read_text())))
def test_cut_table_removes_exactly_one_connection(name: str) -> None:
    text = (REPO / "connections.toml").read_text()
    data = tomllib.loads(text)
    remaining, removed = cut_table(text, name)
    assert tomllib.loads(remaining) == {k: v for k, v in data.items() if k != name}
    assert tomllib.loads(removed) == {name: data[name]}
    assert remaining.startswith("# Named connections used by the example tasks.")
    assert "\n\n\n" not in remaining


def test_cut_table_takes_the_comment_above_and_leaves_the_next_ones() -> None:
    text = '[a]\ntype = "sqlite"\npath = "a"\n\n# about b\n[b]\ntype = "sqlite"\npath = "b"\n'
    assert cut_table(text, "b") == (
        '[a]\ntype = "sqlite"\npath = "a"\n\n',
        '# about b\n[b]\ntype = "sqlite"\npath = "b"\n',
    )
    assert cut_table(text, "a") == (
        '# about b\n[b]\ntype = "sqlite"\npath = "b"\n',
        '[a]\ntype = "sqlite"\npath = "a"\n',
    )


def test_cut_table_of_a_split_table_falls_back_to_tomlkit() -> None:
    text = '[d]\ntype = "duft"\n\n[e]\ntype = "sqlite"\npath = "e"\n\n[d.params]\nx = {value = 1}\n'
    remaining, removed = cut_table(text, "d")
    assert tomllib.loads(remaining) == {"e": {"type": "sqlite", "path": "e"}}
    assert tomllib.loads(removed) == {"d": {"type": "duft", "params": {"x": {"value": 1}}}}
