"""`duftui outputs / verify / resend`: a run's files after the fact."""

from __future__ import annotations

import json
from pathlib import Path

from duftui.steps.history import delivered_to
from duftui.store.states import RunStatus
from tests.conftest import Cli
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import SshServer


def test_outputs_verify_and_resend(sws: StepWorkspace, sshd: SshServer) -> None:
    sws.empty_database("db")
    sws.connection("partner", sshd.connection())
    key = sws.task(
        "hist",
        'name = "hist"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        'query = "SELECT \'Zoë\' AS name"\n[output]\nname = "h.csv"\n'
        '[[deliver]]\nkind = "sftp"\nconnection = "partner"\npath = "in"\n'
        "overwrite = false\n",
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    cli = Cli(sws.root)
    listed = cli("outputs", str(run.id))
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0].split() == [
        "STAGE",
        "SIZE",
        "MD5",
        "CREATED",
        "PATH",
        "DELIVERED",
        "TO",
    ]
    assert "sftp:partner:in/h.csv" in listed.output
    rows = json.loads(cli("outputs", str(run.id), "--json").output)
    assert [(Path(r["path"]).name, r["stage"], r["delivered_to"]) for r in rows] == [
        ("h.csv", "output", ["sftp:partner:in/h.csv"]),
        ("h.csv.md5", "output", ["sftp:partner:in/h.csv.md5"]),
    ]

    checked = cli("verify", str(run.id))
    assert checked.exit_code == 0 and checked.output.splitlines()[0].startswith("ok ")

    (sshd.root / "in" / "h.csv").unlink()
    (sshd.root / "in" / "h.csv.md5").unlink()
    resent = cli("resend", str(run.id))
    assert resent.exit_code == 0, resent.output
    assert "sent 2 file(s) again" in resent.output
    assert (sshd.root / "in" / "h.csv").read_text() == "name\nZoë\n"
    assert delivered_to(sws.outputs(run.id)[0]) == ["sftp:partner:in/h.csv"]

    again = cli("resend", str(run.id))
    assert again.exit_code == 1
    assert "in/h.csv already exists and overwrite = false" in again.output

    produced = Path(sws.outputs(run.id)[0].path)
    produced.write_text("tampered")
    checked = cli("verify", str(run.id))
    assert checked.exit_code == 1
    assert checked.output.splitlines()[0] == f"CHANGED  {produced}"
    assert "1 of 2 file(s) changed or missing" in checked.output
    refused = cli("resend", str(run.id), "--target", "0")
    assert refused.exit_code == 1 and "use --force to send it anyway" in refused.output
    produced.unlink()
    assert f"MISSING  {produced}" in cli("verify", str(run.id)).output
    assert "there is no deliver[3]" in cli("resend", str(run.id), "--target", "3").output
    assert "no run #999" in cli("verify", "999").output
