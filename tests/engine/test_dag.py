"""Batches: needs chains, skipped children, series by rank, retried parents."""

from __future__ import annotations

import textwrap

from duftui.engine.control import retry_now
from duftui.engine.submit import submit_project
from tests.engine.conftest import Workspace

STEP = """
    import os, sys
    print("ran", os.environ["DUFTUI_TASK"])
    sys.exit(int(os.environ.get("FAIL", "0")))
"""


def chain(ws: Workspace, fail_b: bool = False, sequence: bool = False) -> None:
    if sequence:
        (ws.root / "tasks/p/project.toml").write_text("sequence_tasks = true\n")
    for name, rank, needs in (("a", 30, []), ("b", 20, ["a"]), ("c", 10, ["b"])):
        fail = "1" if (name == "b" and fail_b) else "0"
        needs_line = "" if sequence else f"needs = {needs!r}\n".replace("'", '"')
        ws.task(name, f"""
name = "{name}"
rank = {rank}
{needs_line}
[run]
kind = "python"
file = "scripts/step.py"
env = {{ FAIL = "{fail}" }}
""", None)
    (ws.root / "tasks/p/scripts").mkdir(exist_ok=True)
    (ws.root / "tasks/p/scripts/step.py").write_text(textwrap.dedent(STEP))


def test_needs_chain_runs_in_order(ws: Workspace) -> None:
    chain(ws)
    submitted = ws.submit("p/a")
    assert submitted.planned == ["a", "b", "c"]
    ws.supervise(batch_id=submitted.batch_id)
    rows = ws.runs()
    assert [(r[1], r[2], r[5]) for r in rows] == [
        ("p/a", "succeeded", "manual"), ("p/b", "succeeded", "dependency"),
        ("p/c", "succeeded", "dependency")]
    a, b, c = (ws.get(r[0]) for r in rows)
    assert a.finished_at <= b.started_at and b.finished_at <= c.started_at
    assert {a.batch_id, b.batch_id, c.batch_id} == {submitted.batch_id}


def test_failed_parent_skips_children_with_reason_and_retry_resumes(ws: Workspace) -> None:
    chain(ws, fail_b=True)
    submitted = ws.submit("p/a")
    ws.supervise(batch_id=submitted.batch_id)
    rows = ws.runs()
    assert [(r[1], r[2]) for r in rows] == [("p/a", "succeeded"), ("p/b", "failed"),
                                           ("p/c", "skipped")]
    assert rows[2][6] == f"skipped: needs b, which ended failed (run #{rows[1][0]})"
    # Fix b and retry it: c runs after all, in the same batch.
    (ws.root / "tasks/p/b.toml").write_text(
        (ws.root / "tasks/p/b.toml").read_text().replace('FAIL = "1"', 'FAIL = "0"'))
    with ws.store.write() as conn:
        retry_now(conn, ws.catalogue(), rows[1][0], user="tester")
    ws.supervise(batch_id=submitted.batch_id)
    rows = ws.runs()
    assert [(r[1], r[2]) for r in rows][-2:] == [("p/b", "succeeded"), ("p/c", "succeeded")]


def test_running_a_middle_task_only_runs_it_and_its_dependants(ws: Workspace) -> None:
    chain(ws)
    submitted = ws.submit("p/b")
    ws.supervise(batch_id=submitted.batch_id)
    assert [(r[1], r[2]) for r in ws.runs()] == [("p/b", "succeeded"), ("p/c", "succeeded")]
    ws.submit("p/b", with_dependants=False)
    ws.supervise()
    assert [r[1] for r in ws.runs()] == ["p/b", "p/c", "p/b"]


def test_project_series_runs_by_rank_and_stops_at_a_failure(ws: Workspace) -> None:
    chain(ws, fail_b=True, sequence=True)
    submitted = submit_project(ws.store, ws.catalogue(), "p")
    assert submitted.planned == ["c", "b", "a"]
    ws.supervise(batch_id=submitted.batch_id)
    rows = ws.runs()
    assert [(r[1], r[2]) for r in rows] == [("p/c", "succeeded"), ("p/b", "failed"),
                                           ("p/a", "skipped")]
    assert "series stopped, b ended failed" in rows[2][6]


def test_project_dag_batch_runs_every_enabled_task(ws: Workspace) -> None:
    chain(ws)
    ws.task("off", 'name = "off"\nenabled = false\n[run]\nkind = "python"\n'
                   'file = "scripts/step.py"\n')
    submitted = submit_project(ws.store, ws.catalogue(), "p")
    assert submitted.planned == ["a", "b", "c"]
    ws.supervise(batch_id=submitted.batch_id)
    assert [r[2] for r in ws.runs()] == ["succeeded"] * 3
