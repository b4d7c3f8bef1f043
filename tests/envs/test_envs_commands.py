"""`duftui envs`, `envs build`, `envs prune`, project defaults, preview and validate."""

from __future__ import annotations

import json
import os
import time

import pytest

from duftui.definitions.loader import load_workspace
from duftui.engine.launch import LaunchError, run_environment
from duftui.envs.request import RequestError
from duftui.envs.support import entry_request
from duftui.store.states import RunStatus
from tests.conftest import Cli, write
from tests.engine.conftest import Workspace
from tests.envs.conftest import env_dirs, env_task

SCRIPT = "import six\nprint('six', six.__version__)\n"


def test_build_list_preview_and_prune_an_inherited_environment(ws: Workspace) -> None:
    write(ws.root / "tasks" / "p" / "project.toml", '[run]\nrequirements = "requirements.txt"\n')
    write(ws.root / "tasks" / "p" / "requirements.txt", "six==1.16.0\n")
    key = env_task(ws, "inherits", SCRIPT)
    cli = Cli(ws.root)
    before = json.loads(cli("preview", key, "--json").output)["environments"]
    assert [(e["for"], e["ready"], e["source"]) for e in before] == [
        ("run", False, "requirements.txt")]
    built = cli("envs", "build", key)
    assert built.exit_code == 0, built.output
    [env_key] = env_dirs(ws)
    assert f"{key}: environment {env_key} (python " in built.output
    listed = json.loads(cli("envs", "--json").output)
    assert [(e["key"], e["packages"], e["tasks"]) for e in listed] == [
        (env_key, ["six==1.16.0"], [key])]
    assert listed[0]["size"] > 0 and listed[0]["python"].count(".") == 2
    shown = cli("preview", key)
    assert f"environment   run: {env_key} python" in shown.output and "(ready)" in shown.output
    assert f"envs/{env_key}/bin/python scripts/inherits.py" in shown.output
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED
    assert "six 1.16.0" in ws.lines(run.id)
    assert not any("building" in line for line in ws.lines(run.id))
    # another environment, used just now: prune keeps it and removes the old one
    other = env_task(ws, "recent", SCRIPT, 'requirements = ["six==1.17.0"]')
    assert ws.run(other).status == RunStatus.SUCCEEDED
    assert len(env_dirs(ws)) == 2
    old = time.time() - 40 * 86400
    used = ws.root / ".duftui" / "envs" / env_key / "duftui-used"
    for mark in used.iterdir():
        os.utime(mark, (old, old))
    killed = ws.root / ".duftui" / "envs" / ".build-0123456789abcdef-x1" / "env"
    killed.mkdir(parents=True)  # what a build killed mid-way leaves
    assert "removed 0 environment(s)" in cli("envs", "prune", "--unused-for", "50d").output
    assert not killed.parent.exists()
    pruned = cli("envs", "prune")  # the default: 30 days
    assert pruned.output.strip() == f"removed 1 environment(s): {env_key}"
    assert env_dirs(ws) != [] and env_key not in env_dirs(ws)
    table = cli("envs").output
    assert "p/recent" in table and env_key not in table
    bad = cli("envs", "prune", "--unused-for", "soon")
    assert bad.exit_code == 2 and "--unused-for 'soon'" in bad.output


def test_validate_reports_bad_requirements_where_they_are(ws: Workspace) -> None:
    write(ws.root / "tasks" / "p" / "scripts" / "req.txt", "six==1.16.0\nsix=>1\n")
    env_task(ws, "badfile", SCRIPT, 'requirements = "scripts/req.txt"')
    env_task(ws, "badlist", SCRIPT, 'requirements = ["toolz", "not a requirement!"]')
    env_task(ws, "missing", SCRIPT, 'requirements = "scripts/nothere.txt"')
    env_task(ws, "outside", SCRIPT, 'requirements = "../../../elsewhere.txt"')
    env_task(ws, "badmeta", "# /// script\n# dependencies = [\n# ///\nprint(1)\n")
    env_task(ws, "nopython", SCRIPT, 'python = "/nonexistent/bin/python3"')
    result = Cli(ws.root)("validate")
    assert result.exit_code != 0
    out = result.output
    assert ("tasks/p/badfile.toml:5: run.requirements: scripts/req.txt:2: 'six=>1' is not a "
            "valid requirement") in out, out
    assert "tasks/p/badlist.toml:5: run.requirements[1]: 'not a requirement!' is not a valid" \
        in out, out
    assert "tasks/p/missing.toml:5: run.requirements: file not found" in out
    assert "tasks/p/outside.toml:5: run.requirements: ../../../elsewhere.txt is outside the " \
        "workspace" in out, out
    assert "tasks/p/badmeta.toml:5: run.file: badmeta.py: the '# /// script' block is not " \
        "valid TOML" in out, out
    assert "tasks/p/nopython.toml:5: run.python: no executable interpreter at " \
        "/nonexistent/bin/python3" in out, out
    assert not (ws.root.parent / "elsewhere.lock").exists()


def test_a_requirements_file_outside_the_workspace_is_refused_at_run_time(
        ws: Workspace) -> None:
    outside = write(ws.root.parent / "elsewhere.txt", "six\n")
    key = env_task(ws, "outside", SCRIPT, f'requirements = "{outside}"')
    catalogue = load_workspace(ws.root)  # validate reports it; the run refuses it as well
    with pytest.raises(RequestError, match="is outside the workspace; keep it under"):
        entry_request(catalogue, catalogue.tasks[key], "run")
    with pytest.raises(LaunchError, match="outside the workspace"):
        run_environment(catalogue, catalogue.tasks[key], key)
    assert not (ws.root.parent / "elsewhere.lock").exists()
