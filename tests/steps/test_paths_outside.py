"""Paths stay where the author meant: an output `name` or `zip_name`, or a delivery
`path`, that leaves its base folder is a located definition error unless the task says
`allow_outside = true`; what only the run can know (a connection's base_path, the
expanded template) is checked at run time with one clear sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from duftui.definitions.loader import load_workspace
from duftui.steps.errors import StepError
from duftui.steps.output import target_path
from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import FtpServer
from tests.steps.test_deliver import deliver_task

OUT_OF_RUN = "name a file inside it, or set allow_outside = true in [output]"
OUT_OF_BASE = "deliver inside it, or set allow_outside = true on this [[deliver]]"


def problems(ws: StepWorkspace) -> list[str]:
    return [str(p) for p in load_workspace(ws.root).errors]


@pytest.mark.parametrize(
    ("output", "deliver", "expected"),
    [
        (
            'name = "../../../tasks/p/evil.toml"',
            "",
            'tasks/p/t.toml:8: output.name: "../../../tasks/p/evil.toml" is outside the '
            f"run's folder: its .. climbs above the folder; {OUT_OF_RUN}",
        ),
        (
            'name = "/etc/cron.d/x_%Y"',
            "",
            'tasks/p/t.toml:8: output.name: "/etc/cron.d/x_%Y" is outside the run\'s folder: '
            f"it is an absolute path; {OUT_OF_RUN}",
        ),
        (
            'name = "a.csv"\nzip = true\nzip_name = "~/bundle.zip"',
            "",
            'tasks/p/t.toml:10: output.zip_name: "~/bundle.zip" is outside the run\'s folder: '
            f"it starts with ~ (a home folder); {OUT_OF_RUN}",
        ),
        (
            'name = "a.csv"\nzip = true\nzip_name = "sub\\\\..\\\\..\\\\b.zip"',
            "",
            'tasks/p/t.toml:10: output.zip_name: "sub\\\\..\\\\..\\\\b.zip" is outside the run\'s '
            f"folder: its .. climbs above the folder; {OUT_OF_RUN}",
        ),
        (
            'name = "a.csv"',
            '[[deliver]]\nkind = "local"\npath = "/srv/outbox"',
            'tasks/p/t.toml:11: deliver[0].path: "/srv/outbox" is outside the workspace: it is '
            f"an absolute path; {OUT_OF_BASE}",
        ),
        (
            'name = "a.csv"',
            '[[deliver]]\nkind = "local"\npath = "exports/../../up"',
            'tasks/p/t.toml:11: deliver[0].path: "exports/../../up" is outside the workspace: '
            f"its .. climbs above the folder; {OUT_OF_BASE}",
        ),
        (
            'name = "a.csv"',
            '[[deliver]]\nkind = "ftp"\nconnection = "partner"\npath = "../other"',
            "tasks/p/t.toml:12: deliver[0].path: \"../other\" is outside the connection's "
            f"folder: its .. climbs above the folder; {OUT_OF_BASE}",
        ),
    ],
)
def test_escaping_paths_are_definition_errors(
    sws: StepWorkspace, output: str, deliver: str, expected: str
) -> None:
    sws.connection("partner", {"type": "ftp", "host": "127.0.0.1"})
    sws.task(
        "t",
        'name = "t"\n[run]\nkind = "command"\ncommand = ["true"]\n\n\n'
        f"[output]\n{output}\n{deliver}\n",
    )
    assert problems(sws) == [expected]
    text = (sws.root / "tasks" / "p" / "t.toml").read_text()
    fixed = text.replace("[output]\n", "[output]\nallow_outside = true\n")
    fixed = fixed.replace("[[deliver]]\n", "[[deliver]]\nallow_outside = true\n")
    (sws.root / "tasks" / "p" / "t.toml").write_text(fixed)
    assert problems(sws) == []


def test_paths_that_stay_inside_are_fine(sws: StepWorkspace) -> None:
    sws.connection("partner", {"type": "sftp", "host": "127.0.0.1"})
    sws.task(
        "t",
        'name = "t"\n[run]\nkind = "command"\ncommand = ["true"]\n'
        '[output]\nname = "sub/../x_%Y%m%d.csv"\nzip = true\nzip_name = "./b.zip"\n'
        '[[deliver]]\nkind = "local"\npath = "exports/%Y/../latest"\n'
        '[[deliver]]\nkind = "sftp"\nconnection = "partner"\npath = "/incoming"\n',
    )
    assert problems(sws) == []


def test_run_time_check_after_templates(tmp_path: Path) -> None:
    from datetime import datetime

    at = datetime(2026, 6, 1, 12, 0)
    assert target_path("x_%Y.csv", at, tmp_path) == tmp_path / "x_2026.csv"
    with pytest.raises(StepError) as caught:
        target_path("../parse(%Y-1)/x.csv", at, tmp_path)
    assert str(caught.value) == (
        "output: name '../parse(%Y-1)/x.csv' (here '../2025/x.csv') is outside the run's "
        f"folder: its .. climbs above the folder; {OUT_OF_RUN}"
    )
    outside = target_path("../parse(%Y-1)/x.csv", at, tmp_path, allow_outside=True)
    assert outside == tmp_path / ".." / "2025" / "x.csv"


def test_a_remote_path_outside_the_connection_base_path_is_refused_at_run_time(
    sws: StepWorkspace, ftpd: FtpServer
) -> None:
    sws.connection("partner", ftpd.connection(base_path="/incoming"))
    key = deliver_task(sws, "up", 'kind = "ftp"\nconnection = "partner"\npath = "/etc/cron.d"')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert run.error and run.error.startswith(
        "deliver[0]: path '/etc/cron.d' is outside the connection's base_path /incoming: "
        f"it is an absolute path elsewhere on the server; {OUT_OF_BASE}"
    )
    assert not (ftpd.root / "etc").exists()
    allowed = deliver_task(
        sws,
        "allowed",
        'kind = "ftp"\nconnection = "partner"\npath = "/elsewhere"\nallow_outside = true',
    )
    run = sws.run(allowed)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert (ftpd.root / "elsewhere" / "people.csv").is_file()
