"""The bundled DUFT example project (tasks/duft) runs out of the box."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests.engine.conftest import duftui


def test_duft_script_and_notebook_examples_run(example_workspace: Path) -> None:
    workspace = SimpleNamespace(root=example_workspace)
    script = duftui(workspace, "run", "duft/visits-summary", "-p", "days=3")  # type: ignore[arg-type]
    assert script.returncode == 0, script.stdout + script.stderr
    assert "Visits Summary >>>: Script completed! " in script.stdout
    assert "in 3 days" in script.stdout
    notebook = duftui(workspace, "run", "duft/visits-notebook")  # type: ignore[arg-type]
    assert notebook.returncode == 0, notebook.stdout + notebook.stderr
    assert "Visits per clinic >>>: Arusha North: " in notebook.stdout
    assert list((example_workspace / ".duftui" / "runs").rglob("visits_notebook.ipynb"))
