"""Parameter precedence, overrides and their errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from duftui.engine.params import ParamError, parse_overrides, resolve_params
from duftui.engine.submit import SubmitError
from tests.engine.conftest import Workspace


@pytest.fixture
def task(ws: Workspace) -> str:
    (ws.root / "tasks/p/project.toml").write_text(
        '[params]\nregion = "north"\nlimit = 10\nday = "parse(%Y-%m-%d-1)"\n')
    return ws.task("t", """
        name = "t"
        [[schedule]]
        cron = "0 6 * * *"
        params = { limit = 50 }
        [run]
        kind = "python"
        file = "scripts/t.py"
        [params.limit]
        default = 20
        allow_override = true
        [params.fixed]
        default = "x"
        """, "print(1)")


def test_precedence_project_task_schedule_override(ws: Workspace, task: str) -> None:
    catalogue = ws.catalogue()
    entry = catalogue.task(task)
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    base = resolve_params(catalogue, entry, at=at)
    assert base.values == {"region": "north", "limit": 20, "day": "2026-02-28", "fixed": "x"}
    assert base.sources == {"region": "project", "limit": "task", "day": "project",
                            "fixed": "task"}
    scheduled = resolve_params(catalogue, entry, at=at, schedule_params={"limit": 50})
    assert scheduled.values["limit"] == 50
    overridden = resolve_params(catalogue, entry, at=at, schedule_params={"limit": 50},
                                overrides={"limit": "75"})
    assert overridden.values["limit"] == 75 and overridden.sources["limit"] == "override"


def test_refused_overrides_name_the_parameter(ws: Workspace, task: str) -> None:
    catalogue = ws.catalogue()
    entry = catalogue.task(task)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ParamError, match="parameter 'fixed' does not allow overrides"):
        resolve_params(catalogue, entry, at=at, overrides={"fixed": "y"})
    with pytest.raises(ParamError, match=r"unknown parameter 'nope' \(declared: day, fixed, "):
        resolve_params(catalogue, entry, at=at, overrides={"nope": "y"})
    with pytest.raises(ParamError, match="expected int like 20, got 'many'"):
        resolve_params(catalogue, entry, at=at, overrides={"limit": "many"})
    with pytest.raises(SubmitError, match="does not allow overrides"):
        ws.submit(task, overrides={"fixed": "y"})


def test_parse_overrides() -> None:
    assert parse_overrides(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ParamError, match="expected key=value, got 'oops'"):
        parse_overrides(["oops"])


def test_logical_time_drives_templates_of_a_run(ws: Workspace, task: str) -> None:
    run = ws.run(task, at=datetime(2024, 3, 1, 12, tzinfo=UTC))
    import json

    assert json.loads(run.params)["day"] == "2024-02-29"
