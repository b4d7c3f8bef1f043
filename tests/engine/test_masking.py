"""Secrets never reach the log, the database or the console, even when a task prints them."""

from __future__ import annotations

import json
import os
import sqlite3

from duftui.definitions.secrets import MASK, SecretStore
from duftui.locations import secrets_file
from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace


def test_a_script_printing_its_own_passwords_is_masked_everywhere(ws: Workspace,
                                                                   monkeypatch) -> None:
    SecretStore(secrets_file()).set("db.password", "hunter2-s3cr3t")
    monkeypatch.setenv("API_TOKEN_FOR_TEST", "tok-abcdef-123456")
    (ws.root / "connections.toml").write_text(
        '[db]\ntype = "duft"\n'
        '[db.params.password]\ntype = "password"\nvalue = { secret = "db.password" }\n'
        '[db.params.server]\ntype = "text"\nvalue = "127.0.0.1"\n')
    key = ws.task("leaky", """
        name = "leaky"
        [run]
        kind = "python"
        file = "scripts/leaky.py"
        connections = ["db"]
        [params.token]
        default = { env = "API_TOKEN_FOR_TEST" }
        secret = true
        [params.region]
        default = "north"
        """, """
        import json, os, sys
        password = json.loads(os.environ["DUFTUI_CONNECTIONS"])["db"]["password"]
        print("connecting with", password)
        print("token is", os.environ["token"], "region", os.environ["region"])
        print("inline hunter2-s3cr3t and tok-abcdef-123456 twice", file=sys.stderr)
        sys.exit(f"fatal: login failed for {password}")
        """)
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    lines = ws.lines(run.id)
    assert f"connecting with {MASK}" in lines
    assert f"token is {MASK} region north" in lines
    assert f"inline {MASK} and {MASK} twice" in lines
    assert json.loads(run.params) == {"token": MASK, "region": "north"}
    assert f"fatal: login failed for {MASK}" in run.error
    # Nothing anywhere in the state file holds the secret values.
    ws.close()
    raw = b""
    for suffix in ("", "-wal"):
        path = ws.root / ".duftui" / f"state.db{suffix}"
        if path.exists():
            raw += path.read_bytes()
    with sqlite3.connect(ws.root / ".duftui" / "state.db") as db:
        dump = "\n".join(db.iterdump())
    for secret in ("hunter2-s3cr3t", "tok-abcdef-123456"):
        assert secret.encode() not in raw and secret not in dump
    assert os.environ["API_TOKEN_FOR_TEST"] == "tok-abcdef-123456"


def test_a_missing_secret_fails_the_run_with_what_to_do(ws: Workspace) -> None:
    (ws.root / "connections.toml").write_text(
        '[db]\ntype = "duft"\n'
        '[db.params.password]\ntype = "password"\nvalue = { secret = "nope.password" }\n')
    key = ws.task("needs", """
        name = "needs secret"
        [run]
        kind = "python"
        file = "scripts/needs.py"
        connections = ["db"]
        """, "print('never')")
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("not started: connection db.password: secret 'nope.password' "
                                "is not set in ")
    assert run.error.endswith("run: duftui secret set nope.password")
