"""A local file name never makes a remote path climb out of the declared folder: a file
called `..\\..\\escape.csv` (a legal name on POSIX, two folders up on SMB and Windows) is
refused before anything is sent; and a processing script's list stays in the run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import SMB_MISSING, FtpServer, SmbServer, SshServer

ESCAPE = "..\\..\\escape.csv"
MAKER = f"""
with open({ESCAPE!r}, "w") as handle:
    handle.write("x\\n")
print([{ESCAPE!r}])
"""


def escaping_task(ws: StepWorkspace, kind: str) -> str:
    ws.empty_database("db")
    script = ws.root / "tasks" / "p" / "scripts" / "make.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(MAKER)
    return ws.task(
        "make",
        'name = "make"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        'query = "SELECT 1 AS a"\n[processing]\nscript = "scripts/make.py"\n'
        "[output]\nmd5 = false\n"
        f'[[deliver]]\nkind = "{kind}"\nconnection = "partner"\npath = "out/deep"\n',
    )


def assert_refused(ws: StepWorkspace, key: str, root: Path) -> None:
    run = ws.run(key)
    assert run.status == RunStatus.FAILED, ws.text(run.id)
    folder = ws.run_dir(run.id)
    assert f"not uploading {folder}/{ESCAPE}: file name {ESCAPE!r} is refused: it holds a path " in (
        run.error or ""
    )
    assert [p for p in root.rglob("*") if "escape" in p.name] == []


@pytest.mark.skipif(bool(SMB_MISSING), reason=SMB_MISSING or "")
def test_smb_upload_name_with_backslashes_is_refused(sws: StepWorkspace, smbd: SmbServer) -> None:
    sws.connection("partner", smbd.connection())
    assert_refused(sws, escaping_task(sws, "smb"), smbd.root)


def test_ftp_upload_name_with_backslashes_is_refused(sws: StepWorkspace, ftpd: FtpServer) -> None:
    sws.connection("partner", ftpd.connection())
    assert_refused(sws, escaping_task(sws, "ftp"), ftpd.root)


def test_sftp_upload_name_with_backslashes_is_refused(sws: StepWorkspace, sshd: SshServer) -> None:
    sws.connection("partner", sshd.connection())
    assert_refused(sws, escaping_task(sws, "sftp"), sshd.root)


def test_a_processing_list_naming_a_file_outside_the_run_folder_fails(
    sws: StepWorkspace, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("private")
    link_maker = (
        "import os, sys\n"
        f"os.symlink({str(secret)!r}, 'innocent.csv')\n"
        "print(['innocent.csv'])\n"
    )
    sws.empty_database("db")
    scripts = sws.root / "tasks" / "p" / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "abs.py").write_text(f"print([{str(secret)!r}])\n")
    (scripts / "link.py").write_text(link_maker)
    for name in ("abs", "link"):
        key = sws.task(
            name,
            f'name = "{name}"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
            f'query = "SELECT 1 AS a"\n[processing]\nscript = "scripts/{name}.py"\n'
            '[[deliver]]\nkind = "local"\npath = "out"\n',
        )
        run = sws.run(key)
        assert run.status == RunStatus.FAILED, sws.text(run.id)
        listed = str(secret) if name == "abs" else "innocent.csv"
        assert (run.error or "").startswith(
            f"processing: scripts/{name}.py listed {listed}, which is outside the run's "
            f"folder {sws.run_dir(run.id)}; write the files it produces there"
        )
    assert not (sws.root / "out").exists()
