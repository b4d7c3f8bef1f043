"""Queries and commands from elsewhere: `query_url` with a token header from a secret
parameter (an HTTP server that refuses requests without it), `query_file` from an SFTP
connection, and SSH commands from a script file, local or on the host; templates expand
and the token never reaches the log."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import HOST, SshServer
from tests.steps.test_sql import AT, read_csv, sql_task

TOKEN = "glpat-very-secret-token"


class TokenServer:
    """Serves one query, only to requests with `PRIVATE-TOKEN: TOKEN` (as GitLab does)."""

    def __init__(self, body: str) -> None:
        seen: list[str] = []
        self.seen = seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("PRIVATE-TOKEN", ""))
                if self.headers.get("PRIVATE-TOKEN") != TOKEN:
                    self.send_error(401, "Unauthorized")
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/q.sql"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    server = TokenServer("SELECT name FROM people WHERE born = 'parse(%Y-%m-%d-1)' ORDER BY name")
    yield server
    server.close()


def test_query_url_sends_a_token_from_a_secret_parameter(
    sws: StepWorkspace, token_server: TokenServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    key = sql_task(
        sws, "gitlab", f'query_url = "{token_server.url}"\n'
        'query_headers = { "PRIVATE-TOKEN" = "{token}" }',
        '[params.token]\ndefault = { env = "GITLAB_TOKEN" }\nsecret = true\n'
        '[output]\nname = "g.csv"\nmd5 = false\n',
    )
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert token_server.seen == [TOKEN]
    assert read_csv(sws.run_dir(run.id) / "g.csv") == [
        ["name"], ["Ada"], ["Bob, Jr."], ["x' OR '1'='1"],
    ]
    assert TOKEN not in sws.text(run.id)
    key = sql_task(
        sws, "nokey", f'query_url = "{token_server.url}"',
        '[output]\nname = "n.csv"\nmd5 = false\n',
    )
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.FAILED
    assert f"source: {token_server.url} answered 401 Unauthorized" in (run.error or "")


def test_query_headers_naming_an_unknown_parameter_is_a_clear_error(
    sws: StepWorkspace, token_server: TokenServer
) -> None:
    key = sql_task(
        sws, "typo", f'query_url = "{token_server.url}"\n'
        'query_headers = { Authorization = "Bearer {tokn}" }',
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "source: query_headers.Authorization uses {tokn} but the task has no parameter" in (
        run.error or ""
    )
    assert token_server.seen == []


def test_query_file_from_an_sftp_connection(sws: StepWorkspace, sshd: SshServer) -> None:
    (sshd.root / "queries").mkdir(parents=True, exist_ok=True)
    (sshd.root / "queries" / "born_20260314.sql").write_text(
        "SELECT name\nFROM people WHERE born = :day ORDER BY name"
    )
    sws.connection("share", sshd.connection())
    key = sql_task(
        sws, "remote", 'query_file = "queries/born_parse(%Y%m%d-1).sql"\n'
        'query_connection = "share"',
        '[params]\nday = "2026-03-13"\n[output]\nname = "r.csv"\nmd5 = false\n',
    )
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert read_csv(sws.run_dir(run.id) / "r.csv") == [["name"], ["Zoë"]]
    assert any("fetched the query queries/born_20260314.sql from" in line
               for line in sws.lines(run.id))
    (sshd.root / "queries" / "born_20260314.sql").unlink()
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.FAILED
    assert (run.error or "").startswith("source: query_file queries/born_20260314.sql: ")


def ssh_script_task(ws: StepWorkspace, name: str, source: str) -> str:
    return ws.task(
        name, f'name = "{name}"\n[run]\nkind = "ssh"\n[source]\nconnection = "box"\n{source}\n'
    )


def test_ssh_commands_from_a_local_script_file_and_one_on_the_host(
    sws: StepWorkspace, sshd: SshServer
) -> None:
    sws.connection("box", sshd.connection(type="ssh"))
    scripts = sws.root / "tasks" / "p" / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "nightly.sh").write_text(
        "set -e\necho \"day parse(%Y-%m-%d-1)\"\nname='it''s; $(rm -rf /)'\necho \"$name\"\n"
    )
    run = sws.run(ssh_script_task(sws, "local", 'script = "scripts/nightly.sh"'), at=AT)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    stdout = sws.lines(run.id, "stdout")
    assert "day 2026-03-14" in stdout and "its; $(rm -rf /)" in stdout
    (sshd.root / "on host.sh").write_text("echo from the host\nexit 4\n")
    run = sws.run(
        ssh_script_task(sws, "host", f'script = "{sshd.root / "on host.sh"}"\nscript_on_host = true')
    )
    assert run.status == RunStatus.FAILED
    assert "from the host" in sws.lines(run.id, "stdout")
    assert "failed with exit status 4" in (run.error or "")


def test_an_ssh_task_with_a_command_and_a_script_is_a_definition_error(
    sws: StepWorkspace,
) -> None:
    from duftui.definitions.loader import load_workspace

    sws.connection("box", {"type": "ssh", "host": HOST, "username": "x"})
    ssh_script_task(sws, "both", 'command = "true"\nscript = "scripts/x.sh"')
    problems = [str(p) for p in load_workspace(sws.root).errors]
    assert any("source.script: give either command or script, not both" in p for p in problems), (
        problems
    )
