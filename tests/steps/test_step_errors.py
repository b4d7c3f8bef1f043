"""A run's error summary is one sentence, never a traceback (issue 15, item 7): transport
problems name the server and what to do; a bug in the step runner says so in one sentence
and leaves its traceback in the run's log at DEBUG level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from duftui import task
from duftui.store.states import RunStatus
from tests.steps import servers
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import SshServer


class _DroppingSftp(asyncssh.SFTPServer):
    """Drops the whole SSH connection at the first read of a file: a network cut."""

    def read(self, file_obj: Any, offset: int, size: int) -> bytes:
        self.channel.get_connection().abort()
        raise asyncssh.SFTPConnectionLost("gone")

    def write(self, file_obj: Any, offset: int, data: bytes) -> int:
        self.channel.get_connection().abort()
        raise asyncssh.SFTPConnectionLost("gone")


class _Login(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (servers.USER, servers.PASSWORD)


class DroppingSftpServer:
    """A real SFTP server on 127.0.0.1 that cuts the connection during every download."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root, self.key = root, asyncssh.generate_private_key("ssh-ed25519")
        root.mkdir(parents=True)
        state.mkdir(parents=True)
        self.known_hosts = state / "known_hosts"
        self._thread = servers._LoopThread()

        async def start() -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                _Login, servers.HOST, 0, server_host_keys=[self.key],
                sftp_factory=lambda chan: _DroppingSftp(chan, chroot=str(root)),
            )

        self.server = self._thread.call(start())
        self.port = self.server.sockets[0].getsockname()[1]
        public = self.key.export_public_key().decode().strip()
        self.known_hosts.write_text(f"[{servers.HOST}]:{self.port} {public}\n")

    def connection(self) -> dict[str, Any]:
        return {"type": "sftp", "host": servers.HOST, "port": self.port,
                "username": servers.USER, "password": servers.PASSWORD,
                "known_hosts": str(self.known_hosts)}

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        self._thread.call(stop())
        self._thread.stop()


def _one_sentence(error: str | None) -> str:
    """The run's error summary without the "(exit code N)" line the supervisor adds."""
    assert error, "the run has no error summary"
    lines = error.splitlines()
    assert lines[-1] == "(exit code 1)", error
    assert "Traceback" not in error and 'File "' not in error, error
    return "\n".join(lines[:-1])


def _files_task(ws: StepWorkspace, source: str, rest: str = "") -> str:
    return ws.task("fetch", f'name = "fetch"\n[run]\nkind = "files"\n[source]\n{source}\n{rest}')


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\xff\xfe binary \x80\n", "it is not a text file"),
        (b"@cert-authority\n", "Invalid known hosts entry: @cert-authority"),
    ],
    ids=["binary", "bad-entry"],
)
def test_a_garbage_known_hosts_is_one_sentence(
    sws: StepWorkspace, sshd: SshServer, content: bytes, reason: str
) -> None:
    (sshd.root / "in").mkdir()
    (sshd.root / "in" / "a.csv").write_text("a\n")
    sshd.known_hosts.write_bytes(content)
    sws.connection("drop", sshd.connection())
    run = sws.run(_files_task(sws, 'connection = "drop"\npath = "in/*.csv"'))
    assert run.status == RunStatus.FAILED
    assert _one_sentence(run.error) == (
        f"source: sftp drop (127.0.0.1:{sshd.port}): cannot read the known_hosts file "
        f"{sshd.known_hosts}: {reason}; fix or replace it (after checking the server's "
        f"fingerprint, `ssh-keyscan -p {sshd.port} 127.0.0.1` prints lines for it)"
    )
    assert not any("Traceback" in line for line in sws.lines(run.id))
    # the same server with a good known_hosts still works
    sshd.trust()
    again = sws.run(_files_task(sws, 'connection = "drop"\npath = "in/*.csv"'))
    assert again.status == RunStatus.SUCCEEDED, sws.text(again.id)


@pytest.fixture
def dropping(tmp_path: Path) -> Any:
    server = DroppingSftpServer(tmp_path / "drop-root", tmp_path / "drop-state")
    yield server
    server.close()


def test_an_sftp_drop_while_downloading_is_one_sentence(
    sws: StepWorkspace, dropping: DroppingSftpServer
) -> None:
    (dropping.root / "in").mkdir()
    (dropping.root / "in" / "a.csv").write_text("a\n" * 100_000)
    sws.connection("drop", dropping.connection())
    run = sws.run(_files_task(sws, 'connection = "drop"\npath = "in/*.csv"'))
    assert run.status == RunStatus.FAILED
    assert _one_sentence(run.error) == (
        f"source: sftp drop (127.0.0.1:{dropping.port}): cannot download in/a.csv: "
        "connection lost (Connection lost)"
    )
    stderr = sws.lines(run.id, "stderr")
    assert stderr == [], stderr


def test_an_sftp_drop_while_uploading_is_one_sentence(
    sws: StepWorkspace, dropping: DroppingSftpServer
) -> None:
    (sws.root / "in").mkdir()
    (sws.root / "in" / "a.csv").write_text("a\n" * 100_000)
    sws.connection("drop", dropping.connection())
    key = _files_task(sws, 'path = "in/*.csv"',
                      '[[deliver]]\nkind = "sftp"\nconnection = "drop"\npath = "up"\nretries = 0\n')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    summary = _one_sentence(run.error)
    assert summary.startswith(
        f"deliver[0]: sftp drop (127.0.0.1:{dropping.port}): cannot upload to up/"
    ), summary
    assert "connection lost" in summary and "\n" not in summary
    assert sws.lines(run.id, "stderr") == []


def test_a_bug_in_the_step_runner_is_one_sentence_with_the_traceback_at_debug(
    sws: StepWorkspace,
) -> None:
    """The real step runner, started as the supervisor starts it, for a task the
    workspace does not define (an environment no supervisor gives: a bug)."""
    sws.task("real", 'name = "real"\n[run]\nkind = "files"\n[source]\npath = "in/*.csv"\n')
    env = dict(os.environ, DUFTUI_WORKSPACE=str(sws.root), DUFTUI_TASK="p/gone",
               DUFTUI_RUN_ID="1", DUFTUI_OUTPUT_DIR=str(sws.root / "out"),
               DUFTUI_PARAMS="{}", DUFTUI_CONNECTIONS="{}",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run([sys.executable, "-m", "duftui.steps", "--run", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ""
    lines = [line for line in done.stdout.split("\n") if line]  # \x1e is a splitlines() break
    assert all(line.startswith(task.MARKER) for line in lines), lines
    messages = [json.loads(line[len(task.MARKER):]) for line in lines]
    errors = [m["msg"] for m in messages if m.get("level") == "error"]
    assert errors == [
        "step runner: the step runner failed unexpectedly (KeyError: 'p/gone'); this is a "
        "bug in duftui, please report it with the traceback, which is in the run's log at "
        "DEBUG level (`duftui logs RUN --level debug`)"
    ]
    debug = [m["msg"] for m in messages if m.get("level") == "debug"]
    assert debug and debug[0].startswith("Traceback (most recent call last):")
