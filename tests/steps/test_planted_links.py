"""Symlinks planted where duftui writes never redirect a write: real links at the
temporary `.NAME.part` name and at the final name, for local deliveries and for the
run's own output files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from duftui.definitions.models import Output
from duftui.steps.errors import StepError
from duftui.steps.output import write_rows
from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.test_deliver import deliver_task

PEOPLE = "id,name\n1,Zoë\n2,Åsa\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside every folder duftui writes to, that a planted link points at."""
    path = tmp_path / "elsewhere" / "victim.txt"
    path.parent.mkdir()
    path.write_text("precious")
    return path


def test_local_delivery_never_writes_through_a_link_at_the_part_name(
    sws: StepWorkspace, victim: Path
) -> None:
    target = sws.root / "out"
    target.mkdir()
    (target / ".people.csv.part").symlink_to(victim)
    (target / ".people.csv.md5.part").symlink_to(victim)
    key = deliver_task(sws, "local", 'kind = "local"\npath = "out"\noverwrite = false')
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert victim.read_text() == "precious"
    assert (target / "people.csv").read_text() == PEOPLE
    assert not (target / "people.csv").is_symlink()
    assert not any(p.name.endswith(".part") and not p.is_symlink() for p in target.iterdir())


def test_a_link_at_the_final_name_is_replaced_never_followed(
    sws: StepWorkspace, victim: Path
) -> None:
    target = sws.root / "out"
    target.mkdir()
    (target / "people.csv").symlink_to(victim)
    run = sws.run(deliver_task(sws, "local", 'kind = "local"\npath = "out"'))
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert victim.read_text() == "precious"
    assert not (target / "people.csv").is_symlink()
    assert (target / "people.csv").read_text() == PEOPLE
    assert (
        f"deliver[0]: local: {target}/people.csv was a symbolic link; it was replaced by the "
        "file (the link's target was not written)"
    ) in sws.lines(run.id)


def test_with_overwrite_false_a_link_counts_as_a_file(sws: StepWorkspace, victim: Path) -> None:
    target = sws.root / "out"
    target.mkdir()
    (target / "people.csv").symlink_to(victim)
    (target / "people.csv.md5").symlink_to(target / "missing")  # dangling
    run = sws.run(
        deliver_task(sws, "strict", 'kind = "local"\npath = "out"\noverwrite = false')
    )
    assert run.status == RunStatus.FAILED
    assert f"local: {target}/people.csv already exists and overwrite = false" in (run.error or "")
    assert victim.read_text() == "precious"
    assert (target / "people.csv").is_symlink()


def test_output_rows_ignore_a_link_at_the_part_name(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "out.csv"
    (tmp_path / ".out.csv.part").symlink_to(victim)
    assert write_rows(path, Output(), ["a"], [[["1"], ["2"]]]) == 2
    assert path.read_text() == "a\n1\n2\n"
    assert victim.read_text() == "precious"


def test_output_rows_never_follow_a_link_at_the_final_name(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "out.csv"
    path.symlink_to(victim)
    with pytest.raises(StepError) as caught:
        write_rows(path, Output(overwrite=False), ["a"], [[["1"]]])
    assert "already exists and overwrite = false" in str(caught.value)
    write_rows(path, Output(), ["a"], [[["1"]]])
    assert not path.is_symlink() and path.read_text() == "a\n1\n"
    assert victim.read_text() == "precious"


PLANTER = """
import os
with open("data.csv", "w") as handle:
    handle.write("x\\n1\\n")
os.symlink({victim!r}, "data.csv.md5")
print(["data.csv"])
"""


def test_md5_file_never_writes_through_a_link(sws: StepWorkspace, victim: Path) -> None:
    """A processing script leaves a link where the .md5 file goes."""
    sws.empty_database("db")
    script = sws.root / "tasks" / "p" / "scripts" / "plant.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(PLANTER.format(victim=str(victim)))
    key = sws.task(
        "plant",
        'name = "plant"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        'query = "SELECT 1 AS a"\n[processing]\nscript = "scripts/plant.py"\n'
        "[output]\nmd5 = true\n",
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert victim.read_text() == "precious"
    md5 = sws.run_dir(run.id) / "data.csv.md5"
    assert not md5.is_symlink()
    digest = hashlib.md5(b"x\n1\n").hexdigest()
    assert md5.read_text() == f"{digest}  data.csv\n"
