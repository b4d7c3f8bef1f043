"""An upload whose connection drops in the middle of the file leaves no partial file on
the server: duftui removes it over a new connection and says so in the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import FtpServer, SshServer

SIZE = 8 << 20  # far more than one write block or socket buffer


def start(kind: str, tmp_path: Path) -> FtpServer | SshServer:
    if kind == "ftp":
        return FtpServer(tmp_path / "server", drop_uploads=True)
    return SshServer(tmp_path / "server", tmp_path / "ssh-state", drop_uploads=True)


@pytest.mark.parametrize("kind", ["ftp", "sftp"])
def test_a_dropped_upload_leaves_no_partial_file(
    sws: StepWorkspace, tmp_path: Path, kind: str
) -> None:
    server = start(kind, tmp_path)
    try:
        drop = sws.root / "drop"
        drop.mkdir()
        (drop / "big.bin").write_bytes(b"\x01" * SIZE)
        sws.connection("partner", server.connection())
        key = sws.task(
            "send",
            'name = "send"\n[run]\nkind = "files"\n[source]\npath = "drop/big.bin"\n'
            f'[[deliver]]\nkind = "{kind}"\nconnection = "partner"\npath = "in"\n'
            'retries = 1\nretry_delay = "10ms"\n',
        )
        run = sws.run(key)
        lines = sws.lines(run.id)
        assert run.status == RunStatus.FAILED, "\n".join(lines)
        assert "(after 2 attempts)" in (run.error or "")
        assert list((server.root / "in").iterdir()) == []
        removed = [line for line in lines if "removed the partial upload in/.big.bin." in line]
        assert len(removed) == 2, "\n".join(lines)
        assert all(line.endswith(".part over a new connection") for line in removed)
        assert all(line.startswith(f"deliver[0]: {kind} partner (127.0.0.1:") for line in removed)
    finally:
        server.close()
