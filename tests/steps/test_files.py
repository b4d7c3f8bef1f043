"""The files source (local, SFTP, FTP/FTPS, SMB): globs, recursion, non-ASCII names,
delete_after, and what happens when nothing matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from duftui.steps.history import delivered_to
from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import SMB_MISSING, FtpServer, SmbServer, SshServer, make_certificate

NAMES = {
    "in/zürich ü.csv": "z\n",
    "in/b.csv": "b\n",
    "in/skip.txt": "no\n",
    "in/sub/ñandú.csv": "n\n",
    "in/sub/deeper/d.csv": "d\n",
}


def populate(root: Path) -> None:
    for name, content in NAMES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def files_task(ws: StepWorkspace, name: str, source: str, rest: str = "") -> str:
    return ws.task(name, f'name = "{name}"\n[run]\nkind = "files"\n[source]\n{source}\n{rest}')


def delivered(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_local_glob_recursive_non_ascii_and_delete_after(sws: StepWorkspace) -> None:
    populate(sws.root / "drop")
    key = files_task(
        sws,
        "local",
        'path = "drop/in/*.csv"\nrecursive = true\ndelete_after = true',
        '[[deliver]]\nkind = "local"\npath = "out/%Y"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    year = str(run.logical_time.astimezone().year) if run.logical_time else ""
    assert delivered(sws.root / "out" / year) == {
        "zürich ü.csv": "z\n",
        "b.csv": "b\n",
        "ñandú.csv": "n\n",
        "d.csv": "d\n",
    }
    stages = {Path(r.path).name: r.stage for r in sws.outputs(run.id)}
    assert stages == dict.fromkeys(["b.csv", "d.csv", "ñandú.csv", "zürich ü.csv"], "source")
    assert (sws.run_dir(run.id) / "source" / "sub" / "deeper" / "d.csv").exists()
    assert delivered(sws.root / "drop") == {"in/skip.txt": "no\n"}
    assert any("deleted" in line and "delete_after" in line for line in sws.lines(run.id))


def test_no_match_fails_unless_skip_empty(sws: StepWorkspace) -> None:
    (sws.root / "drop").mkdir()
    run = sws.run(files_task(sws, "none", 'path = "drop/*.csv"'))
    assert run.status == RunStatus.FAILED
    assert "source: no files match" in (run.error or "") and "drop/*.csv on local" in run.error
    run = sws.run(files_task(sws, "quiet", 'path = "drop/*.csv"', "[output]\nskip_empty = true\n"))
    assert run.status == RunStatus.SUCCEEDED


def test_sftp_source_to_ftp_delivery(sws: StepWorkspace, sshd: SshServer, ftpd: FtpServer) -> None:
    populate(sshd.root)
    sws.connection("drop", sshd.connection())
    sws.connection("partner", ftpd.connection(base_path="/incoming"))
    key = files_task(
        sws,
        "relay",
        'connection = "drop"\npath = "in/*.csv"\ndelete_after = true',
        '[[deliver]]\nkind = "ftp"\nconnection = "partner"\npath = "réception"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert delivered(ftpd.root) == {
        "incoming/réception/zürich ü.csv": "z\n",
        "incoming/réception/b.csv": "b\n",
    }
    assert not (sshd.root / "in" / "b.csv").exists()
    assert (sshd.root / "in" / "sub" / "ñandú.csv").exists()
    rows = {Path(r.path).name: r for r in sws.outputs(run.id)}
    assert delivered_to(rows["b.csv"]) == ["ftp:partner:/incoming/réception/b.csv"]


def test_ftps_source_with_a_trusted_certificate(sws: StepWorkspace, tmp_path: Path) -> None:
    pytest.importorskip("OpenSSL", reason="pyftpdlib's FTPS server needs pyOpenSSL")
    cert = make_certificate(tmp_path)
    server = FtpServer(tmp_path / "ftps-root", certfile=cert)
    try:
        populate(server.root)
        sws.connection("secure", server.connection(tls=True, ca_file=str(cert)))
        sws.connection("untrusted", server.connection(tls=True))
        run = sws.run(files_task(sws, "tls", 'connection = "secure"\npath = "in/sub/*.csv"'))
        assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
        assert (sws.run_dir(run.id) / "source" / "ñandú.csv").read_text() == "n\n"
        run = sws.run(files_task(sws, "bad", 'connection = "untrusted"\npath = "in/*.csv"'))
        assert run.status == RunStatus.FAILED
        assert "TLS certificate not trusted" in (run.error or "")
        assert "set ca_file on the connection" in run.error
    finally:
        server.close()


@pytest.mark.skipif(bool(SMB_MISSING), reason=SMB_MISSING or "")
def test_smb_source_and_delivery(sws: StepWorkspace, smbd: SmbServer) -> None:
    populate(smbd.root)
    sws.connection("share", smbd.connection())
    key = files_task(
        sws,
        "smb",
        'connection = "share"\npath = "in/*.csv"\nrecursive = true',
        '[[deliver]]\nkind = "smb"\nconnection = "share"\npath = "out/ü"\noverwrite = false\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert delivered(smbd.root / "out") == {
        "ü/zürich ü.csv": "z\n",
        "ü/b.csv": "b\n",
        "ü/ñandú.csv": "n\n",
        "ü/d.csv": "d\n",
    }
    again = sws.run(key)
    assert again.status == RunStatus.FAILED
    assert "already exists and overwrite = false" in (again.error or "")
    assert len([r for r in sws.outputs(again.id) if r.stage == "source"]) == 4


@pytest.mark.skipif(bool(SMB_MISSING), reason=SMB_MISSING or "")
def test_smb_wrong_password(sws: StepWorkspace, smbd: SmbServer) -> None:
    sws.connection("share", smbd.connection(password="bad-secret-42"))
    run = sws.run(files_task(sws, "smbpw", 'connection = "share"\npath = "*.csv"'))
    assert run.status == RunStatus.FAILED
    assert "login refused" in (run.error or "")
