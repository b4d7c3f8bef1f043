"""The forms validate with the loader's own checks: for every definition in the broken
corpus and in the examples, validating the file's own data as form data gives exactly the
problems `load_workspace` (and so `duftui validate`) reports for that file."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import pytest

from duftui.definitions import Catalogue, load_workspace
from duftui.definitions.editing import (
    open_connection,
    open_project,
    open_task,
    validate_connection,
    validate_project,
    validate_task,
)
from tests.conftest import DATA, REPO

WORKSPACES = {"broken": DATA / "broken_workspace", "examples": REPO}


@cache  # validating must not change the catalogue: every case shares one
def _catalogue(name: str) -> Catalogue:
    return load_workspace(WORKSPACES[name])


def _data(path: Path) -> dict | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def _cases(kind: str) -> list[tuple[str, str]]:
    cases = []
    for name in WORKSPACES:
        catalogue = _catalogue(name)
        if kind == "task":
            cases += [(name, key) for key in catalogue.tasks]
        elif kind == "project":
            cases += [(name, key) for key in catalogue.projects]
        else:
            data = _data(catalogue.root / "connections.toml") or {}
            cases += [(name, key) for key in data]
    return cases


def _reported(catalogue: Catalogue, rel: str, prefix: str | None = None) -> list[str]:
    return [
        str(p)
        for p in catalogue.problems
        if p.file == rel
        and (prefix is None or p.field == prefix or p.field.startswith(f"{prefix}."))
    ]


@pytest.mark.parametrize(("workspace", "key"), _cases("task"))
def test_task_form_reports_what_validate_reports(workspace: str, key: str) -> None:
    catalogue = _catalogue(workspace)
    entry = catalogue.tasks[key]
    data = _data(entry.path)
    if data is None:  # a form cannot open it: the draft says why, as validate does
        draft = open_task(catalogue, key)
        assert draft.data is None
        assert [str(p) for p in draft.problems] == _reported(catalogue, entry.rel)
        return
    got = validate_task(catalogue, entry.project, entry.name, data)
    assert [str(p) for p in got] == _reported(catalogue, entry.rel)
    assert open_task(catalogue, key).problems == got


@pytest.mark.parametrize(("workspace", "key"), _cases("project"))
def test_project_form_reports_what_validate_reports(workspace: str, key: str) -> None:
    catalogue = _catalogue(workspace)
    path = catalogue.projects[key].path / "project.toml"
    data = _data(path) if path.exists() else {}
    rel = f"tasks/{key}/project.toml"
    if data is None:  # a form cannot open it: the draft says why, as validate does
        assert [str(p) for p in open_project(catalogue, key).problems] == _reported(catalogue, rel)
        return
    got = validate_project(catalogue, key, data)
    assert [str(p) for p in got] == _reported(catalogue, rel)
    assert open_project(catalogue, key).problems == got


@pytest.mark.parametrize(("workspace", "name"), _cases("connection"))
def test_connection_form_reports_what_validate_reports(workspace: str, name: str) -> None:
    catalogue = _catalogue(workspace)
    table = (_data(catalogue.root / "connections.toml") or {})[name]
    got = validate_connection(catalogue, name, table)
    assert [str(p) for p in got] == _reported(catalogue, "connections.toml", name)
    assert open_connection(catalogue, name).problems == got


def test_the_corpus_has_problems_to_compare() -> None:
    catalogue = _catalogue("broken")
    assert len({p.file for p in catalogue.problems}) > 40
