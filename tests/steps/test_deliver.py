"""Deliveries to local folders, SFTP, FTP: overwrite control, retries of transient
failures, and permanent failures that stop the run while keeping its files and log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from duftui.steps.history import delivered_to
from duftui.store.states import RunStatus
from tests.conftest import python_env
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import FtpServer, SshServer, free_port

QUERY = "SELECT 1 AS id, 'Zoë' AS name UNION ALL SELECT 2, 'Åsa'"


def deliver_task(ws: StepWorkspace, name: str, deliver: str, output: str = "") -> str:
    ws.empty_database("db")
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        f'query = "{QUERY}"\n[output]\nname = "people.csv"\n{output}\n'
        f"[[deliver]]\n{deliver}\n",
    )


def assert_kept(ws: StepWorkspace, run_id: int, names: set[str]) -> None:
    """The run's files are still on disk and in output_file, and its log is stored."""
    rows = ws.outputs(run_id)
    assert {Path(r.path).name for r in rows} == names
    assert all(Path(r.path).is_file() and r.md5 for r in rows)
    assert "source: sql: started" in ws.lines(run_id)


def test_sftp_delivery_overwrite_control(sws: StepWorkspace, sshd: SshServer) -> None:
    sws.connection("partner", sshd.connection())
    key = deliver_task(
        sws, "sftp", 'kind = "sftp"\nconnection = "partner"\npath = "in/%Y"\noverwrite = false'
    )
    first = sws.run(key)
    assert first.status == RunStatus.SUCCEEDED, sws.text(first.id)
    [folder] = (sshd.root / "in").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["people.csv", "people.csv.md5"]
    assert (folder / "people.csv").read_text() == "id,name\n1,Zoë\n2,Åsa\n"
    rows = {Path(r.path).name: r for r in sws.outputs(first.id)}
    assert delivered_to(rows["people.csv"]) == [f"sftp:partner:in/{folder.name}/people.csv"]
    second = sws.run(key)
    assert second.status == RunStatus.FAILED
    assert (
        f"deliver[0]: sftp partner (127.0.0.1:{sshd.port}): in/{folder.name}/people.csv "
        "already exists and overwrite = false"
    ) in (second.error or "")
    assert_kept(sws, second.id, {"people.csv", "people.csv.md5"})
    assert not any(p.name.endswith(".part") for p in folder.iterdir())


def test_transient_ftp_failure_is_retried_within_the_step(
    sws: StepWorkspace, tmp_path: Path
) -> None:
    server = FtpServer(tmp_path / "flaky", fail_stores=1)
    try:
        sws.connection("partner", server.connection())
        key = deliver_task(
            sws,
            "flaky",
            'kind = "ftp"\nconnection = "partner"\npath = "in"\nretry_delay = "10ms"',
            "md5 = false",
        )
        run = sws.run(key)
        assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
        assert (server.root / "in" / "people.csv").read_text() == "id,name\n1,Zoë\n2,Åsa\n"
        warning = next(line for line in sws.lines(run.id) if "trying again" in line)
        assert "451" in warning and "(attempt 2 of 3)" in warning
    finally:
        server.close()


def test_server_down_fails_after_the_retries(sws: StepWorkspace) -> None:
    sws.connection(
        "partner",
        {
            "type": "ftp",
            "host": "127.0.0.1",
            "port": free_port(),
            "username": "tester",
            "password": "s3cret-pw",
        },
    )
    key = deliver_task(
        sws,
        "down",
        'kind = "ftp"\nconnection = "partner"\npath = "in"\nretries = 2\nretry_delay = "10ms"',
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "connection refused (is the server running?) (after 3 attempts)" in (run.error or "")
    assert len([line for line in sws.lines(run.id) if "trying again" in line]) == 2
    assert_kept(sws, run.id, {"people.csv", "people.csv.md5"})


def test_wrong_password_fails_at_once(sws: StepWorkspace, ftpd: FtpServer) -> None:
    sws.connection("partner", ftpd.connection(password="bad-secret-42"))
    key = deliver_task(
        sws, "pw", 'kind = "ftp"\nconnection = "partner"\npath = "in"\nretry_delay = "10ms"'
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "login failed: login refused (530" in (run.error or "")
    assert not any("trying again" in line for line in sws.lines(run.id))
    assert_kept(sws, run.id, {"people.csv", "people.csv.md5"})


def test_remote_disk_full(sws: StepWorkspace, tmp_path: Path) -> None:
    server = SshServer(tmp_path / "full-root", tmp_path / "full-state", full_disk=True)
    try:
        sws.connection("partner", server.connection())
        key = deliver_task(sws, "full", 'kind = "sftp"\nconnection = "partner"\npath = "in"')
        run = sws.run(key)
        assert run.status == RunStatus.FAILED
        assert "the server is out of space (No space left on device)" in (run.error or "")
        assert_kept(sws, run.id, {"people.csv", "people.csv.md5"})
        assert not list((server.root / "in").iterdir())
    finally:
        server.close()


def test_local_target_exists(sws: StepWorkspace) -> None:
    target = sws.root / "out"
    target.mkdir()
    (target / "people.csv").write_text("old")
    key = deliver_task(sws, "local", 'kind = "local"\npath = "out"\noverwrite = false')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert f"local: {target}/people.csv already exists and overwrite = false" in (run.error or "")
    assert (target / "people.csv").read_text() == "old"
    assert_kept(sws, run.id, {"people.csv", "people.csv.md5"})
    assert sorted(p.name for p in target.iterdir()) == ["people.csv"]


LIMITED_PUT = """
import resource, signal, sys
from pathlib import Path
from duftui.steps.errors import TransferError
from duftui.steps.remote.local import LocalRemote

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, hard))
try:
    LocalRemote(Path(sys.argv[1])).put(Path(sys.argv[2]), "out", overwrite=True)
except TransferError as exc:
    print(exc, exc.transient)
"""


def test_local_write_failure_is_clear_and_leaves_nothing(tmp_path: Path) -> None:
    """A child lowers its own file-size limit, so the copy fails for real (as on a full
    disk): one clear line, and no partial file in the target folder."""
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 200_000)
    child = subprocess.run(
        [sys.executable, "-c", LIMITED_PUT, str(tmp_path), str(big)],
        capture_output=True, text=True, timeout=120, env=python_env(),
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == f"local: cannot write {tmp_path}/out/big.csv: file too large False"
    assert list((tmp_path / "out").iterdir()) == []
