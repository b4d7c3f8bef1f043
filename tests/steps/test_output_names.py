"""Output file names that follow the run's parameters: `{day:%Y%m%d}`, `{name}`, and the
values a name refuses (a path, a secret)."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from duftui.engine.templates import Secret, TemplateError, expand_name
from duftui.store.states import RunStatus
from tests.engine.conftest import duftui
from tests.steps.conftest import StepWorkspace

AT = datetime(2026, 12, 3, 6, 15, tzinfo=UTC)


def test_the_example_names_its_file_after_an_overridden_day(example_workspace: Path) -> None:
    workspace = SimpleNamespace(root=example_workspace)
    shown = duftui(workspace, "preview", "clinic/daily-visits", "-p", "day=2025-06-01",  # type: ignore[arg-type]
                   "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["files"]["output file"] == "visits_20250601.csv"
    result = duftui(workspace, "run", "clinic/daily-visits", "-p", "day=2025-06-01")  # type: ignore[arg-type]
    assert result.returncode == 0, result.stdout + result.stderr
    exports = example_workspace / "exports" / "clinic"
    assert sorted(p.name for p in exports.iterdir()) == ["visits_20250601.csv.zip"]
    with zipfile.ZipFile(exports / "visits_20250601.csv.zip") as archive:
        assert sorted(archive.namelist()) == ["visits_20250601.csv", "visits_20250601.csv.md5"]


def test_names_take_params_plain_and_as_dates() -> None:
    params = {"day": "2025-06-01", "site": "north", "at": date(2024, 2, 29), "flag": True}
    assert expand_name("v_{day:%Y%m%d}_{site}_{flag}.csv", AT, params) == (
        "v_20250601_north_true.csv"
    )
    assert expand_name("{at:%d.%m.%Y}_%Y%m%d-1_{{x}}.csv", AT, params) == (
        "29.02.2024_20261202_{x}.csv"
    )
    # A value is never read as a template itself.
    assert expand_name("{site}.csv", AT, {"site": "%Y lastday parse(%d)"}) == (
        "%Y lastday parse(%d).csv"
    )
    # Without params (remote paths, source globs) braces stay as they are.
    assert expand_name("in/{site}/%Y", AT) == "in/{site}/2026"


@pytest.mark.parametrize(
    ("template", "params", "message"),
    [
        ("{site}.csv", {"site": "../../tasks/p/x"},
         "parameter site = '../../tasks/p/x' cannot be part of a file name (it holds '/'); "
         "give a value without a path"),
        ("{site}.csv", {"site": "a\\b"},
         "parameter site = 'a\\\\b' cannot be part of a file name (it holds '\\\\'); "
         "give a value without a path"),
        ("{site}", {"site": ".."},
         "parameter site = '..' cannot be part of a file name (it holds '..'); "
         "give a value without a path"),
        ("{site}.csv", {"site": "~root"},
         "parameter site = '~root' cannot be part of a file name (it holds a leading '~'); "
         "give a value without a path"),
        ("{site}.csv", {"site": "x\ny"},
         "parameter site = 'x\\ny' cannot be part of a file name (it holds '\\n'); "
         "give a value without a path"),
        ("{day:%Y%m%d}.csv", {"day": "yesterday"},
         "{day:%Y%m%d}: parameter day = 'yesterday' is not a date like 2025-06-01 "
         "(or 2025-06-01T06:00)"),
        ("{nope}.csv", {"day": "x"}, "{nope} names no parameter (declared: day)"),
        ("{pw}.csv", {"pw": Secret()}, "parameter 'pw' is secret; a file name cannot show it"),
        ("a{b.csv", {}, "a lone '{': name a parameter as {name} or {name:%Y%m%d}, "
         "or write '{{' for the brace itself"),
    ],
)
def test_a_name_refuses_what_would_leave_the_folder(
    template: str, params: dict, message: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        expand_name(template, AT, params)
    assert str(caught.value) == message


def test_a_run_with_a_hostile_value_fails_clearly_and_writes_nothing(
    sws: StepWorkspace,
) -> None:
    sws.empty_database("db")
    key = sws.task(
        "named",
        'name = "named"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        'query = "SELECT 1 AS one"\n'
        '[params.site]\ndefault = "north"\nallow_override = true\n'
        '[params.pw]\ndefault = { env = "DUFTUI_TEST_NAME_PW" }\nsecret = true\n'
        '[output]\nname = "site_{site}.csv"\nmd5 = false\n',
    )
    sws.monkeypatch.setenv("DUFTUI_TEST_NAME_PW", "hunter2-secret")
    good = sws.run(key, overrides={"site": "south"})
    assert good.status == RunStatus.SUCCEEDED, sws.text(good.id)
    assert (sws.run_dir(good.id) / "site_south.csv").read_text() == "one\n1\n"

    bad = sws.run(key, overrides={"site": "../../../tasks/p/planted"})
    assert bad.status == RunStatus.FAILED
    assert (bad.error or "").startswith(
        "output: file name 'site_{site}.csv': parameter site = '../../../tasks/p/planted' "
        "cannot be part of a file name (it holds '/'); give a value without a path"
    )
    assert not (sws.root / "tasks" / "p" / "planted.csv").exists()
    assert sorted(p.name for p in (sws.root / "tasks" / "p").iterdir()) == ["named.toml"]

    secret = sws.task(
        "leaky",
        (sws.root / "tasks" / "p" / "named.toml").read_text().replace("site_{site}", "pw_{pw}"),
    )
    leaky = sws.run(secret)
    assert leaky.status == RunStatus.FAILED
    assert (leaky.error or "").startswith(
        "output: file name 'pw_{pw}.csv': parameter 'pw' is secret; a file name cannot show it"
    )
