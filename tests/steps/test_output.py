"""The output step in a real run: GPG (real gpg, throwaway keyring) → md5 → zip, names
and overwrite rules."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import gnupg

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace

QUERY = "SELECT 'Zoë' AS name, 'a,b \"q\"' AS note UNION ALL SELECT 'Åsa', 'x'"


def output_task(ws: StepWorkspace, name: str, output: str, deliver: bool = True) -> str:
    ws.empty_database("db")
    target = '[[deliver]]\nkind = "local"\npath = "out"\n' if deliver else ""
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        f"query = '''{QUERY}'''\n[output]\n{output}\n{target}",
    )


def test_gpg_then_md5_then_zip_and_decrypt_back(sws: StepWorkspace, gpg_home: Path) -> None:
    key = output_task(
        sws,
        "secret",
        f'name = "people.csv"\ngpg_recipient = "ops@example.org"\n'
        f'gpg_home = "{gpg_home}"\nzip = true\n'
        'zip_name = "people_%Y"',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    [archive] = (sws.root / "out").iterdir()
    assert archive.name.startswith("people_") and archive.suffix == ".zip"
    folder = sws.run_dir(run.id)
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == ["people.csv.gpg", "people.csv.gpg.md5"]
        encrypted = opened.read("people.csv.gpg")
        checksum = opened.read("people.csv.gpg.md5").decode()
    assert checksum == f"{hashlib.md5(encrypted).hexdigest()}  people.csv.gpg\n"
    assert b"Zo" not in encrypted
    decrypted = gnupg.GPG(gnupghome=str(gpg_home)).decrypt(encrypted)
    assert decrypted.ok, decrypted.status
    assert decrypted.data == (folder / "people.csv").read_bytes()
    assert decrypted.data.decode() == 'name,note\nZoë,"a,b ""q"""\nÅsa,x\n'
    order = [Path(r.path).name for r in sws.outputs(run.id)]
    assert order == ["people.csv", "people.csv.gpg", "people.csv.gpg.md5", archive.name]


def test_unknown_recipient_fails_and_keeps_the_plain_file(
    sws: StepWorkspace, gpg_home: Path
) -> None:
    key = output_task(
        sws,
        "nokey",
        f'name = "x.csv"\ngpg_recipient = "stranger@example.org"\ngpg_home = "{gpg_home}"',
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "output: gpg could not encrypt x.csv to 'stranger@example.org': " in (run.error or "")
    assert "No public key" in run.error
    [row] = sws.outputs(run.id)
    assert row.path.endswith("x.csv") and Path(row.path).is_file()
    assert not (sws.root / "out").exists()


def test_default_name_gets_the_format_extension_and_xlsx_works(sws: StepWorkspace) -> None:
    run = sws.run(output_task(sws, "sheet", 'format = "xlsx"\nmd5 = false'))
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    [delivered] = (sws.root / "out").iterdir()
    assert delivered.name.startswith("output_") and delivered.suffix == ".xlsx"
    from openpyxl import load_workbook

    sheet = load_workbook(delivered, read_only=True)["data"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)][1] == ["Zoë", 'a,b "q"']


def test_absolute_output_name_and_overwrite_false(sws: StepWorkspace, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "fixed.csv"
    key = output_task(
        sws,
        "fixed",
        f'name = "{target}"\noverwrite = false\nmd5 = false\nallow_outside = true',
        deliver=False,
    )
    assert sws.run(key).status == RunStatus.SUCCEEDED
    assert target.read_text().startswith("name,note\n")
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert f"output: {target} already exists and overwrite = false" in (run.error or "")
