"""Loading workspaces: the bundled examples, task lookup, project params and subfolders."""

from __future__ import annotations

from pathlib import Path

import pytest

from duftui.definitions import load_workspace
from duftui.definitions.common import SecretRef
from tests.conftest import write

HELLO = 'name = "{name}"\n\n[run]\nkind = "python"\nfile = "scripts/hello.py"\n'


def make_task(root: Path, key: str, name: str = "A task") -> Path:
    """A valid python task `tasks/<key>.toml` with its script in the project folder."""
    project = key.split("/")[0]
    write(root / "tasks" / project / "scripts" / "hello.py", "print('hi')\n")
    return write(root / "tasks" / f"{key}.toml", HELLO.format(name=name))


def test_example_workspace_loads_without_problems(example_workspace: Path) -> None:
    catalogue = load_workspace(example_workspace)
    assert [str(p) for p in catalogue.problems] == []
    assert catalogue.ok
    assert sorted(catalogue.tasks) == [
        "clinic/daily-visits",
        "clinic/inbox",
        "clinic/weekly-summary",
        "demo/flaky",
        "demo/greet",
        "demo/heartbeat",
        "demo/hello",
        "duft/visits-notebook",
        "duft/visits-summary",
        "pipeline/extract",
        "pipeline/report",
        "pipeline/transform",
        "transfers/disk-space",
        "transfers/lab-results",
        "transfers/partner-upload",
        "transfers/scans-archive",
    ]
    assert all(entry.spec is not None and not entry.broken for entry in catalogue.tasks.values())
    assert sorted(catalogue.connections) == [
        "CLINIC_DUFT", "archive_smb", "clinic_db", "fileserver_ssh", "lab_sftp", "partner_ftp",
        "smtp"]
    assert catalogue.projects["pipeline"].spec.schedule[0].name == "nightly"


def test_example_entries_know_their_files(example_workspace: Path) -> None:
    entry = load_workspace(example_workspace).task("demo/hello")
    assert entry.project == "demo"
    assert entry.name == "hello"
    assert entry.rel == "tasks/demo/hello.toml"
    assert entry.folder == (example_workspace / "tasks" / "demo").resolve()
    assert entry.title == "Hello world"
    assert len(entry.digest) == 64


def test_task_lookup_by_full_and_bare_key(example_workspace: Path) -> None:
    catalogue = load_workspace(example_workspace)
    assert catalogue.task("pipeline/report").key == "pipeline/report"
    assert catalogue.task("report").key == "pipeline/report"
    assert [e.key for e in catalogue.project_tasks("pipeline")] == [
        "pipeline/extract",
        "pipeline/report",
        "pipeline/transform",
    ]
    assert catalogue.project_tasks("nope") == []


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("demo/helo", "no task 'demo/helo'; did you mean 'demo/hello'?"),
        ("helo", "no task 'helo'; did you mean 'demo/hello'?"),
        ("pipeline/transfrom", "no task 'pipeline/transfrom'; did you mean 'pipeline/transform'?"),
        (
            "zzz",
            "no task 'zzz'",  # more than 12 tasks: the list is left out
        ),
    ],
)
def test_task_lookup_did_you_mean(example_workspace: Path, asked: str, message: str) -> None:
    catalogue = load_workspace(example_workspace)
    with pytest.raises(KeyError) as caught:
        catalogue.task(asked)
    assert caught.value.args[0] == message


def test_bare_key_in_two_projects_is_ambiguous(tmp_path: Path) -> None:
    make_task(tmp_path, "one/extract")
    make_task(tmp_path, "two/extract")
    catalogue = load_workspace(tmp_path)
    assert catalogue.ok
    with pytest.raises(KeyError) as caught:
        catalogue.task("extract")
    assert caught.value.args[0] == "task 'extract' is ambiguous: one/extract, two/extract"


def test_project_params_shorthand(tmp_path: Path) -> None:
    make_task(tmp_path, "demo/hello")
    write(
        tmp_path / "tasks" / "demo" / "project.toml",
        'name = "Demo"\n\n[params]\ngreeting = "Hello"\nretries = 3\n'
        'token = { secret = "demo.token" }\n\n[params.day]\ndefault = "today"\nprompt = true\n',
    )
    catalogue = load_workspace(tmp_path)
    assert catalogue.ok, [str(p) for p in catalogue.problems]
    params = catalogue.projects["demo"].spec.params
    assert params["greeting"].default == "Hello"
    assert params["retries"].default == 3
    assert params["token"].default == SecretRef(secret="demo.token")
    assert params["token"].is_reference
    assert params["day"].default == "today"
    assert params["day"].prompt is True
    assert catalogue.projects["demo"].title == "Demo"


def test_param_table_with_secret_flag_is_not_a_reference(tmp_path: Path) -> None:
    make_task(tmp_path, "demo/hello")
    path = tmp_path / "tasks" / "demo" / "hello.toml"
    path.write_text(path.read_text() + "\n[params]\napi_key = { secret = true }\n")
    spec = load_workspace(tmp_path).task("demo/hello").spec
    assert spec is not None
    assert spec.params["api_key"].secret is True
    assert spec.params["api_key"].default is None


def test_grouping_subfolders_hold_tasks_but_scripts_do_not(tmp_path: Path) -> None:
    make_task(tmp_path, "ops/daily")
    make_task(tmp_path, "ops/nightly/backup")
    make_task(tmp_path, "ops/nightly/deep/vacuum")
    write(tmp_path / "tasks" / "ops" / "scripts" / "not-a-task.toml", "this is = not read")
    write(tmp_path / "tasks" / "ops" / "_drafts" / "draft.toml", "nor = is this")
    write(tmp_path / "tasks" / "_shared" / "helper.toml", "nor = this")
    catalogue = load_workspace(tmp_path)
    assert [str(p) for p in catalogue.problems] == []
    assert sorted(catalogue.tasks) == ["ops/backup", "ops/daily", "ops/vacuum"]
    backup = catalogue.task("ops/backup")
    assert backup.rel == "tasks/ops/nightly/backup.toml"
    # Paths in a task are relative to the project folder, wherever the file sits.
    assert backup.folder == (tmp_path / "tasks" / "ops").resolve()
    assert list(catalogue.projects) == ["ops"]


def test_one_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    make_task(tmp_path, "demo/good")
    write(tmp_path / "tasks" / "demo" / "bad.toml", 'name = "Bad"\n[run]\nkind = "pyton"\n')
    catalogue = load_workspace(tmp_path)
    assert not catalogue.task("demo/good").broken
    assert catalogue.task("demo/bad").broken
    assert catalogue.task("demo/bad").title == "bad"
    assert [str(p) for p in catalogue.errors] == [
        "tasks/demo/bad.toml:3: run.kind: expected one of python, notebook, sql, files, ssh, "
        "command, got \"pyton\"; did you mean 'python'?"
    ]


def test_workspace_without_connections_file_or_tasks(tmp_path: Path) -> None:
    catalogue = load_workspace(tmp_path)
    assert catalogue.ok
    assert catalogue.tasks == {}
    assert catalogue.root == tmp_path.resolve()


def test_unknown_connection_when_none_are_defined(tmp_path: Path) -> None:
    write(
        tmp_path / "tasks" / "db" / "q.toml",
        'name = "Q"\n[run]\nkind = "sql"\n[source]\nconnection = "main"\nquery = "select 1"\n',
    )
    assert [str(p) for p in load_workspace(tmp_path).problems] == [
        "tasks/db/q.toml:5: source.connection: unknown connection 'main' "
        "(connections.toml defines none)"
    ]


def test_unreadable_connections_file_skips_connection_checks(tmp_path: Path) -> None:
    write(tmp_path / "connections.toml", "[db\n")
    write(
        tmp_path / "tasks" / "db" / "q.toml",
        'name = "Q"\n[run]\nkind = "sql"\n[source]\nconnection = "main"\nquery = "select 1"\n',
    )
    catalogue = load_workspace(tmp_path)
    assert [str(p) for p in catalogue.problems] == [
        "connections.toml:1: invalid TOML: expected ']' at the end of a table declaration"
    ]
    assert not catalogue.task("db/q").broken


def test_needs_across_projects_are_not_allowed(tmp_path: Path) -> None:
    make_task(tmp_path, "a/first")
    path = make_task(tmp_path, "b/second")
    path.write_text('needs = ["first"]\n' + path.read_text())
    assert [str(p) for p in load_workspace(tmp_path).problems] == [
        "tasks/b/second.toml:1: needs[0]: no task 'first' in project 'b'"
    ]


def test_loaded_definitions_share_empty_values_and_edits_get_their_own(tmp_path: Path) -> None:
    """A daemon holds thousands of definitions: equal empty lists and tables are one object,
    and the data an edit starts from (`model_dump`) is a copy, so no edit reaches another
    task through them."""
    make_task(tmp_path, "p/one")
    make_task(tmp_path, "p/two")
    catalogue = load_workspace(tmp_path)
    one, two = catalogue.task("p/one").spec, catalogue.task("p/two").spec
    assert one is not None and two is not None
    assert one.tags == [] and one.tags is two.tags
    assert one.params == {} and one.params is two.params
    data = one.model_dump()
    data["tags"].append("edited")
    assert one.tags == [] and two.tags == []
    with pytest.raises(ValueError):
        one.tags = ["x"]  # frozen
