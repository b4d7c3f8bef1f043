"""`duftui import-duft`: a DUFT configuration built here, imported, validated and run."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from duftui.store.states import RunStatus
from tests.compat.conftest import duft_config
from tests.conftest import Cli
from tests.engine.conftest import Workspace


def _import(ws: Workspace, source: Path, *args: str):
    return Cli(ws.root)("import-duft", str(source), "--project", "duftcfg", *args)


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_import_maps_tasks_connections_secrets_and_schedules(ws: Workspace, tmp_path) -> None:
    source = duft_config(tmp_path / "duft-config")
    result = _import(ws, source)
    assert result.exit_code == 0, result.output
    out = result.output
    project = ws.root / "tasks" / "duftcfg"
    assert "created        tasks/duftcfg/sample.toml" in out
    assert "stored secret  duft.ANA.password" in out
    # Every field it could not map is reported.
    assert "dataTasks[2] ROOT-SAMPLE: field 'retries' not mapped" in out
    assert "data connection 'MyOwnConnection' is defined nowhere" in out
    assert "pythonFile 'does_not_exist.ipynb' not found" in out
    assert "dataConnections ANA: field 'allowQueryEngine' not mapped" in out
    assert "user/config.json: 'djangoDatabases' not mapped" in out

    sample = _toml(project / "sample.toml")
    assert sample["duft_id"] == "SAMPLE" and sample["hidden"] is True
    assert sample["run"] == {
        "kind": "python",
        "file": "scripts/sample_task.py",
        "cwd": "script",
        "connections": ["ANA"],
        "duft": True,
    }
    assert sample["params"]["name"] == {
        "default": "Daenerys",
        "title": "Name",
        "description": "The name you want to be displayed.",
        "allow_override": True,
    }
    assert sample["params"]["simulate_error"]["prompt"] is True
    assert sample["schedule"] == [{"cron": {"minute": "0", "hour": "9", "day_of_week": "mon"}}]
    assert _toml(project / "root-sample.toml")["run"]["cwd"] == "root"
    notebook_task = _toml(project / "sample-notebook.toml")
    assert notebook_task["run"]["kind"] == "notebook"
    assert notebook_task["run"]["connections"] == ["ANA"]
    assert not (project / "non-existing.toml").exists()
    assert (project / "scripts" / "data_task_helpers.py").exists()

    connections = (ws.root / "connections.toml").read_text()
    assert "pa55-word-ana" not in connections
    ana = tomllib.loads(connections)["ANA"]
    assert ana["duft_id"] == "ANA" and ana["type"] == "duft"
    assert ana["params"]["password"] == {
        "type": "password",
        "label": "Password",
        "value": {"secret": "duft.ANA.password"},
    }
    assert ana["params"]["port"]["value"] == 1433
    assert ana["params"]["type"]["value"] == "MSSQL"
    assert ws.secrets().get("duft.ANA.password") == "pa55-word-ana"

    validated = Cli(ws.root)("validate")
    assert validated.exit_code == 0, validated.output


def test_imported_tasks_run_unmodified(ws: Workspace, tmp_path) -> None:
    assert _import(ws, duft_config(tmp_path / "duft-config")).exit_code == 0
    run = ws.run("duftcfg/sample", overrides={"name": "Arya"})
    lines = ws.lines(run.id)
    assert run.status == RunStatus.SUCCEEDED, lines
    assert "Sample Data Task >>>: SCRIPT STARTING!" in lines
    assert "Sample Data Task >>>: Progress for Arya: 1/1" in lines
    assert any("'password': '********'" in line for line in lines)
    assert not any("pa55-word-ana" in line for line in lines)

    failed = ws.run("duftcfg/sample", overrides={"simulate_error": True})
    assert failed.status == RunStatus.FAILED and failed.exit_code == 1
    assert "A simulated error occurred!" in (failed.error or "")

    notebook = ws.run("duftcfg/sample-notebook")
    lines = ws.lines(notebook.id)
    assert notebook.status == RunStatus.SUCCEEDED, lines
    assert "Jupyter Sample Data Task >>>: Hello Cersei on 127.0.0.1" in lines


def test_a_second_import_changes_nothing(ws: Workspace, tmp_path) -> None:
    source = duft_config(tmp_path / "duft-config")
    assert _import(ws, source).exit_code == 0
    before = _snapshot(ws.root)
    again = _import(ws, source)
    assert again.exit_code == 0
    assert "nothing changed:" in again.output
    assert "created" not in again.output and "updated" not in again.output
    assert _snapshot(ws.root) == before


def test_hand_edits_are_kept_unless_forced(ws: Workspace, tmp_path) -> None:
    source = duft_config(tmp_path / "duft-config")
    assert _import(ws, source).exit_code == 0
    edited = ws.root / "tasks" / "duftcfg" / "sample.toml"
    edited.write_text(
        edited.read_text().replace('name = "Sample Data Task"', 'name = "My own name"')
    )
    connections = ws.root / "connections.toml"
    connections.write_text(connections.read_text().replace('"Server name"', '"Host"'))
    ws.secrets().set("duft.ANA.password", "rotated-by-hand")
    # The DUFT side changes too: an unedited task follows it, edited things do not.
    tasks = json.loads((source / "system" / "data_tasks.json").read_text())
    tasks["dataTasks"][0]["description"] = "Changed in DUFT"
    tasks["dataTasks"][1]["description"] = "Notebook changed in DUFT"
    (source / "system" / "data_tasks.json").write_text(json.dumps(tasks))

    result = _import(ws, source)
    assert result.exit_code == 0, result.output
    assert (
        "conflict       tasks/duftcfg/sample.toml: edited here and changed in DUFT since the "
        "last import; kept the one here, --force takes DUFT's" in result.output
    )
    assert (
        "kept           connections.toml [ANA]: edited here since the last import "
        "(DUFT's is unchanged); --force takes DUFT's" in result.output
    )
    assert (
        "kept           secret duft.ANA.password: edited here since the last import" in result.output
    )
    assert "updated        tasks/duftcfg/sample-notebook.toml" in result.output
    assert 'name = "My own name"' in edited.read_text()
    assert '"Host"' in connections.read_text()
    assert ws.secrets().get("duft.ANA.password") == "rotated-by-hand"

    forced = _import(ws, source, "--force")
    assert "overwrote      tasks/duftcfg/sample.toml" in forced.output
    assert 'description = "Changed in DUFT"' in edited.read_text()
    assert '"Host"' not in connections.read_text()
    assert Cli(ws.root)("secret", "list").exit_code == 0
    from duftui.definitions.secrets import SecretStore
    from duftui.locations import secrets_file

    assert SecretStore(secrets_file()).get("duft.ANA.password") == "pa55-word-ana"


def _set_duft_password(source: Path, value: str) -> None:
    path = source / "user" / "config.json"
    config = json.loads(path.read_text())
    config["dataConnectionParameters"]["ANA"]["password"] = value
    path.write_text(json.dumps(config))


def test_a_password_changed_in_duft_is_brought_in(ws: Workspace, tmp_path) -> None:
    source = duft_config(tmp_path / "duft-config")
    assert _import(ws, source).exit_code == 0
    _set_duft_password(source, "rotated-in-duft")
    result = _import(ws, source)
    assert result.exit_code == 0, result.output
    assert "updated secret duft.ANA.password" in result.output
    assert "kept" not in result.output and "conflict" not in result.output
    assert ws.secrets().get("duft.ANA.password") == "rotated-in-duft"
    # The state file records the import without anything to guess the password from.
    import hashlib

    state = (ws.root / ".duftui" / "duft-import.json").read_text()
    for value in ("rotated-in-duft", "pa55-word-ana"):
        assert value not in state
        assert hashlib.sha256(value.encode()).hexdigest() not in state
    assert json.loads(state)["secrets"]["duft.ANA.password"]
    again = _import(ws, source)
    assert "nothing changed:" in again.output, again.output


def test_a_password_changed_on_both_sides_is_a_conflict(ws: Workspace, tmp_path) -> None:
    source = duft_config(tmp_path / "duft-config")
    assert _import(ws, source).exit_code == 0
    ws.secrets().set("duft.ANA.password", "rotated-by-hand")
    _set_duft_password(source, "rotated-in-duft")
    result = _import(ws, source)
    assert result.exit_code == 0, result.output
    assert (
        "conflict       secret duft.ANA.password: edited here and changed in DUFT since the "
        "last import; kept the one here, --force takes DUFT's" in result.output
    )
    assert ws.secrets().get("duft.ANA.password") == "rotated-by-hand"
    forced = _import(ws, source, "--force")
    assert "overwrote secret duft.ANA.password" in forced.output
    assert ws.secrets().get("duft.ANA.password") == "rotated-in-duft"


def test_a_secret_without_a_record_of_its_import_is_kept(ws: Workspace, tmp_path) -> None:
    ws.secrets().set("duft.ANA.password", "set-before-any-import")
    result = _import(ws, duft_config(tmp_path / "duft-config"))
    assert result.exit_code == 0, result.output
    assert (
        "kept           secret duft.ANA.password: differs from DUFT's, and no earlier "
        "import recorded it; --force takes DUFT's" in result.output
    )
    assert ws.secrets().get("duft.ANA.password") == "set-before-any-import"


def test_flat_layout_and_existing_connections_are_kept(ws: Workspace, tmp_path) -> None:
    (ws.root / "connections.toml").write_text(
        '# our connections\n[clinic_db]\ntype = "sqlite"\npath = "clinic.db"\n'
    )
    source = duft_config(tmp_path / "flat", layout="flat")
    result = _import(ws, source)
    assert result.exit_code == 0, result.output
    assert "(flat layout)" in result.output
    text = (ws.root / "connections.toml").read_text()
    assert text.startswith("# our connections\n[clinic_db]")
    assert "[ANA]" in text
    scripts = ws.root / "tasks" / "duftcfg" / "scripts"
    assert (scripts / "sample_task.py").exists()
    assert not (scripts / "config.json").exists(), "the user's config (passwords) is not copied"
    assert not (scripts / "data_tasks.json").exists()
    run = ws.run("duftcfg/sample")
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)


def test_not_a_duft_folder_is_refused(ws: Workspace, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    result = Cli(ws.root)("import-duft", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "not a DUFT configuration" in result.output


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and "state.db" not in p.name
    }


def _add_tasks(source: Path, *tasks: dict) -> None:
    path = source / "system" / "data_tasks.json"
    data = json.loads(path.read_text())
    data["dataTasks"].extend(tasks)
    path.write_text(json.dumps(data))


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_hostile_script_paths_are_refused_and_nothing_lands_outside(
    ws: Workspace, tmp_path
) -> None:
    source = duft_config(tmp_path / "duft-config")
    scripts = source / "system" / "data_tasks"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "climb.py").write_text("print('outside')\n")
    (outside / "id_rsa.py").write_text("PRIVATE KEY\n")
    (outside / "folder").mkdir()
    (outside / "folder" / "deep.py").write_text("print('deep')\n")
    (scripts / "stolen.py").symlink_to(outside / "id_rsa.py")
    (scripts / "linked_dir").symlink_to(outside / "folder", target_is_directory=True)
    (source / "shared").mkdir()
    (source / "shared" / "common.py").write_text("print('shared inside the config')\n")
    (scripts / "inside_link.py").symlink_to(source / "shared" / "common.py")
    _add_tasks(
        source,
        {"id": "CLIMB", "pythonFile": "../../../elsewhere/climb.py"},
        {"id": "ABSOLUTE", "pythonFile": str(outside / "climb.py")},
        {"id": "STOLEN", "pythonFile": "stolen.py"},
        {"id": "UNDER-LINK", "pythonFile": "linked_dir/deep.py"},
        {"id": "INSIDE", "pythonFile": "inside_link.py"},
        {"id": "../../Evil\nname = 'x'", "pythonFile": "sample_task.py"},
        {"id": "RED\x1b[31m", "pythonFile": "gone.py"},
    )
    before = _tree(tmp_path / "elsewhere")
    result = _import(ws, source)
    assert result.exit_code == 1, result.output
    out = result.output
    where = "system/data_tasks.json: dataTasks"
    assert (
        f"{where}[4] CLIMB: pythonFile '../../../elsewhere/climb.py': climbs out of "
        "system/data_tasks/ with '..'; task not imported" in out
    )
    assert (
        f"{where}[5] ABSOLUTE: pythonFile '{outside / 'climb.py'}': an absolute path; name a "
        "file inside system/data_tasks/; task not imported" in out
    )
    assert (
        f"{where}[6] STOLEN: pythonFile 'stolen.py': a symbolic link to {outside / 'id_rsa.py'}"
        ", outside the DUFT configuration (copy the file itself into it); task not imported"
    ) in out
    assert (
        f"{where}[7] UNDER-LINK: pythonFile 'linked_dir/deep.py': lies under a symbolic link "
        "to a folder (system/data_tasks/linked_dir); task not imported" in out
    )
    assert (
        "system/data_tasks/linked_dir: a symbolic link to a folder; not copied (copy the "
        "folder itself into the DUFT configuration)" in out
    )
    assert (
        "system/data_tasks/inside_link.py: a symbolic link to shared/common.py; "
        "its content is copied" in out
    )
    project = ws.root / "tasks" / "duftcfg"
    for key in ("climb", "absolute", "stolen", "under-link"):
        assert not (project / f"{key}.toml").exists()
    copied = project / "scripts" / "inside_link.py"
    assert not copied.is_symlink() and "shared inside the config" in copied.read_text()
    assert not (project / "scripts" / "stolen.py").exists()
    assert "PRIVATE KEY" not in "".join(
        p.read_text(errors="replace") for p in ws.root.rglob("*") if p.is_file()
        and "state.db" not in p.name
    )
    # Ids are printed escaped: no terminal escape sequence, no line break of their own.
    assert "\x1b" not in out
    assert "dataTasks[10] RED\\x1b[31m: pythonFile 'gone.py' not found" in out
    # A hostile id becomes a safe key; its header comment cannot inject TOML.
    evil = _toml(project / "evil-name-x.toml")
    assert evil["duft_id"] == "../../Evil\nname = 'x'" and "name" in evil
    assert _tree(tmp_path / "elsewhere") == before
    assert {p.name for p in tmp_path.iterdir()} == {"ws", "duft-config", "elsewhere", "_config"}
    assert ws.run("duftcfg/inside").status == RunStatus.SUCCEEDED


def test_a_planted_link_in_the_workspace_is_not_followed(ws: Workspace, tmp_path) -> None:
    source = duft_config(tmp_path / "duft-config")
    outside = tmp_path / "outside"
    outside.mkdir()
    project = ws.root / "tasks" / "duftcfg"
    project.mkdir(parents=True)
    (project / "scripts").symlink_to(outside, target_is_directory=True)
    (project / "sample.toml").symlink_to(outside / "planted.toml")
    result = _import(ws, source)
    assert result.exit_code == 1, result.output
    assert (
        f"tasks/duftcfg/scripts/sample_task.py: would be written to {outside}/sample_task.py, "
        "outside the workspace (a folder on the way is a symbolic link); remove the link, "
        "then import again; not written" in result.output
    )
    assert (
        f"tasks/duftcfg/sample.toml: is a symbolic link (to {outside}/planted.toml); remove "
        "it, then import again; not written" in result.output
    )
    assert list(outside.iterdir()) == []
    assert (project / "root-sample.toml").is_file()
