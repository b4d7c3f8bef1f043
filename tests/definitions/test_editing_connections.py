"""The connection and project forms: secrets typed into a password input go to the secrets
file and never into any file of the workspace; comments survive; delete and restore."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from duftui.definitions import load_workspace
from duftui.definitions.editing import (
    EditError,
    FileChanged,
    InUse,
    KeyTaken,
    ValidationFailed,
    delete_connection,
    open_connection,
    open_project,
    restore,
    save_connection,
    save_project,
    validate_project,
)
from duftui.definitions.secrets import SecretStore
from duftui.locations import secrets_file
from duftui.store.audit import recent
from duftui.store.db import Store
from tests.conftest import write

CONNECTIONS = """\
# Connections of the clinic. No secrets in here!

[clinic_db]
type = "sqlite"
path = "clinic.db"   # next to this file

# The lab's drop box.
[lab]
type = "sftp"
host = "127.0.0.1"
port = 2222
username = "clinic"
"""

TYPED = "s3cr3t-Typed-Value"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root / "connections.toml", CONNECTIONS)
    write(root / "tasks" / "ops" / "project.toml", '# Ops\nname = "Operations"  # shown\n')
    write(
        root / "tasks" / "ops" / "upload.toml",
        'name = "Upload"\n\n[run]\nkind = "files"\n\n[source]\npath = "out/*.csv"\n\n'
        '[[deliver]]\nkind = "sftp"\nconnection = "lab"\npath = "in"\n',
    )
    return root


@pytest.fixture
def store(ws: Path) -> Iterator[Store]:
    opened = Store(ws / ".duftui" / "state.db")
    yield opened
    opened.close()


def files_holding(root: Path, value: str) -> list[str]:
    """Every file under `root` whose bytes contain `value` (SQLite files included)."""
    needle = value.encode()
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )


# -- connections ----------------------------------------------------------------------


def test_typed_secret_goes_to_the_secrets_file_only(ws: Path, store: Store) -> None:
    data = {
        "type": "sftp",
        "host": "127.0.0.1",
        "port": 22,
        "username": "ops",
        "known_hosts": "known_hosts",
        "timeout": 30.0,
        "description": "",
    }
    result = save_connection(
        ws,
        "Backup-Host",
        data,
        {"password": TYPED, "passphrase": ""},
        opened_digest=None,
        user="fay",
        store=store,
    )
    assert result.created and result.problems == []
    text = (ws / "connections.toml").read_text()
    assert text == CONNECTIONS + (
        "\n[Backup-Host]\n"
        'type = "sftp"\n'
        'host = "127.0.0.1"\n'
        'username = "ops"\n'
        'password = {secret = "backup-host.password"}\n'
        'known_hosts = "known_hosts"\n'
    )
    assert SecretStore(secrets_file()).get("backup-host.password") == TYPED
    assert files_holding(ws, TYPED) == []
    catalogue = load_workspace(ws)
    assert catalogue.ok and "Backup-Host" in catalogue.connections
    with store.read() as conn:
        (row,) = recent(conn)
    assert (row.action, row.target, row.user) == ("new", "connection:Backup-Host", "fay")
    assert json.loads(row.detail or "") == {
        "file": "connections.toml",
        "secrets": ["backup-host.password"],
    }


def test_a_literal_secret_is_refused_with_the_validate_message(ws: Path) -> None:
    data = {"type": "sftp", "host": "h", "username": "u", "password": TYPED}
    with pytest.raises(ValidationFailed) as failed:
        save_connection(ws, "leaky", data, opened_digest=None)
    assert [str(p) for p in failed.value.problems] == [
        "connections.toml:18: leaky.password: a secret must not be written in connections.toml "
        '(it is under version control); write password = { secret = "leaky.password" }, then '
        'run `duftui secret set leaky.password` (or use { env = "VAR" })'
    ]
    assert (ws / "connections.toml").read_text() == CONNECTIONS
    assert not secrets_file().exists()
    assert files_holding(ws, TYPED) == []


def test_nothing_is_stored_while_the_connection_has_errors(ws: Path) -> None:
    with pytest.raises(ValidationFailed) as failed:
        save_connection(
            ws, "broken", {"type": "sftp", "port": 22}, {"password": TYPED}, opened_digest=None
        )
    assert [str(p) for p in failed.value.problems] == [
        "connections.toml:14: broken.host: required field is missing"
    ]
    assert not secrets_file().exists()


def test_edit_keeps_comments_and_a_blank_password_keeps_the_reference(ws: Path) -> None:
    draft = open_connection(load_workspace(ws), "lab")
    assert draft.data == {"type": "sftp", "host": "127.0.0.1", "port": 2222, "username": "clinic"}
    save_connection(ws, "lab", draft.data, {"password": TYPED}, opened_digest=draft.digest)
    with_ref = CONNECTIONS + 'password = {secret = "lab.password"}\n'
    assert (ws / "connections.toml").read_text() == with_ref
    draft = open_connection(load_workspace(ws), "lab")
    data = dict(draft.data or {}, port=2200)
    result = save_connection(ws, "lab", data, {"password": ""}, opened_digest=draft.digest)
    assert (ws / "connections.toml").read_text() == with_ref.replace("2222", "2200")
    assert result.digest == open_connection(load_workspace(ws), "lab").digest


def test_conflicts_are_per_connection(ws: Path) -> None:
    draft = open_connection(load_workspace(ws), "lab")
    other = open_connection(load_workspace(ws), "clinic_db")
    save_connection(
        ws, "clinic_db", dict(other.data or {}, path="other.db"), opened_digest=other.digest
    )
    save_connection(ws, "lab", dict(draft.data or {}, port=1), opened_digest=draft.digest)
    stale = dict(draft.data or {}, port=2)
    with pytest.raises(FileChanged):
        save_connection(ws, "lab", stale, opened_digest=draft.digest)
    save_connection(ws, "lab", stale, opened_digest=draft.digest, overwrite=True)
    text = (ws / "connections.toml").read_text()
    assert 'path = "other.db"   # next to this file' in text and "port = 2\n" in text


def test_duft_password_param_becomes_a_reference(ws: Path) -> None:
    data = {
        "type": "duft",
        "name": "Warehouse",
        "params": {
            "server": {"type": "text", "value": "db1"},
            "password": {"type": "password", "label": "Password"},
        },
    }
    save_connection(ws, "DWH", data, {"password": TYPED}, opened_digest=None)
    connection = load_workspace(ws).connections["DWH"]
    assert connection.params["password"].value.secret == "dwh.password"  # type: ignore[union-attr]
    assert SecretStore(secrets_file()).get("dwh.password") == TYPED
    assert files_holding(ws, TYPED) == []


def test_unresolvable_references_are_warnings(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    data = {"type": "ftp", "host": "h", "password": {"env": "NO_SUCH_VARIABLE"}}
    result = save_connection(ws, "ftp", data, opened_digest=None)
    assert [str(p) for p in result.problems] == [
        "connections.toml: ftp.password: environment variable NO_SUCH_VARIABLE is not set; "
        "export it before starting duftui (warning)"
    ]


def test_a_secrets_file_inside_the_workspace_is_refused(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUFTUI_SECRETS", str(ws / "secrets.toml"))
    with pytest.raises(EditError, match="inside the workspace"):
        save_connection(
            ws,
            "lab",
            {"type": "sftp", "host": "h"},
            {"password": TYPED},
            opened_digest=open_connection(load_workspace(ws), "lab").digest,
        )
    assert files_holding(ws, TYPED) == []
    assert (ws / "connections.toml").read_text() == CONNECTIONS


def test_delete_connection_keeps_it_in_the_trash(ws: Path, store: Store) -> None:
    with pytest.raises(InUse) as in_use:
        delete_connection(ws, "lab")
    assert in_use.value.users == ["ops/upload"]
    entry = delete_connection(ws, "clinic_db", user="gus", store=store)
    assert (ws / "connections.toml").read_text() == CONNECTIONS.replace(
        '[clinic_db]\ntype = "sqlite"\npath = "clinic.db"   # next to this file\n\n', ""
    )
    assert entry.path.read_text() == (
        '[clinic_db]\ntype = "sqlite"\npath = "clinic.db"   # next to this file\n'
    )
    assert "clinic_db" not in load_workspace(ws).connections
    save_connection(ws, "clinic_db", {"type": "sqlite", "path": "x.db"}, opened_digest=None)
    with pytest.raises(KeyTaken):
        restore(ws, entry)
    delete_connection(ws, "clinic_db")
    restored = restore(ws, entry, store=store)
    assert restored.target == "clinic_db"
    assert load_workspace(ws).connections["clinic_db"].path == "clinic.db"  # type: ignore[union-attr]
    assert (
        (ws / "connections.toml")
        .read_text()
        .endswith('\n[clinic_db]\ntype = "sqlite"\npath = "clinic.db"   # next to this file\n')
    )
    with store.read() as conn:
        rows = [(r.action, r.target) for r in reversed(recent(conn))]
    assert rows == [("delete", "connection:clinic_db"), ("restore", "connection:clinic_db")]


# -- projects ----------------------------------------------------------------------------


def test_new_project_creates_its_folder(ws: Path, store: Store) -> None:
    data = {
        "name": "Finance",
        "description": "",
        "owner": "ann",
        "sequence_tasks": True,
        "params": {"region": "north"},
        "schedule": [{"cron": "0 6 * * *"}],
    }
    result = save_project(ws, "finance", data, opened_digest=None, store=store)
    assert result.rel == "tasks/finance/project.toml"
    assert result.text == (
        'name = "Finance"\nowner = "ann"\nsequence_tasks = true\n\n[params]\n'
        'region = "north"\n\n[[schedule]]\ncron = "0 6 * * *"\n'
    )
    project = load_workspace(ws).projects["finance"]
    assert project.spec.sequence_tasks and project.spec.params["region"].default == "north"
    with pytest.raises(ValidationFailed) as failed:
        save_project(ws, "finance", data, opened_digest=None)
    assert [p.message for p in failed.value.problems] == [
        "project 'finance' exists already (tasks/finance); choose another key"
    ]


def test_project_edit_keeps_comments_and_checks_schedules(ws: Path) -> None:
    catalogue = load_workspace(ws)
    draft = open_project(catalogue, "ops")
    data = dict(draft.data or {}, owner="ops", schedule=[{"cron": "61 * * * *"}])
    assert [str(p) for p in validate_project(catalogue, "ops", data)] == [
        'tasks/ops/project.toml:6: schedule[0].cron: expected minute 0-59, got 61 (in "61 * * * *")'
    ]
    with pytest.raises(ValidationFailed):
        save_project(ws, "ops", data, opened_digest=draft.digest)
    data["schedule"] = [{"every": "1d"}]
    save_project(ws, "ops", data, opened_digest=draft.digest)
    assert (ws / "tasks" / "ops" / "project.toml").read_text() == (
        '# Ops\nname = "Operations"  # shown\nowner = "ops"\n\n[[schedule]]\nevery = "1d"\n'
    )
    with pytest.raises(FileChanged):
        save_project(ws, "ops", {"name": "x"}, opened_digest=draft.digest)


def test_project_without_a_file_opens_empty(ws: Path) -> None:
    os.remove(ws / "tasks" / "ops" / "project.toml")
    draft = open_project(load_workspace(ws), "ops")
    assert draft.data == {} and draft.digest == ""
    save_project(ws, "ops", {"name": "Ops"}, opened_digest=draft.digest)
    assert (ws / "tasks" / "ops" / "project.toml").read_text() == 'name = "Ops"\n'
