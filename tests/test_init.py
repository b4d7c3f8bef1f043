"""`duftui init`: a new workspace, with or without the bundled examples."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from duftui.cli import main
from duftui.definitions.loader import load_workspace


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_init_lays_out_an_empty_workspace_that_validates(tmp_path: Path) -> None:
    root = tmp_path / "new" / "ws"
    code, out, _ = invoke("init", str(root))
    assert code == 0, out
    assert (root / "tasks").is_dir()
    assert ".duftui/" in (root / ".gitignore").read_text().splitlines()
    # Every setting is commented out, so the file parses to an empty table.
    assert tomllib.loads((root / "duftui.toml").read_text()) == {}
    assert "[retention]" in (root / "duftui.toml").read_text()
    assert tomllib.loads((root / "connections.toml").read_text()) == {}
    assert "created  duftui.toml" in out
    assert not (root / ".duftui").exists()
    catalogue = load_workspace(root)
    assert not catalogue.problems and not catalogue.tasks
    code, out, err = invoke("--workspace", str(root), "validate")
    assert code == 0, out + err


def test_init_with_examples_copies_the_example_projects(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    code, out, _ = invoke("init", "--examples", str(root))
    assert code == 0, out
    catalogue = load_workspace(root)
    assert not catalogue.problems
    assert {"demo/hello", "clinic/daily-visits", "duft/visits-notebook"} <= set(catalogue.tasks)
    assert (root / "tasks/clinic/data/clinic.db").is_file()
    assert (root / "contrib/duftui.service").is_file()
    assert "clinic_db" in tomllib.loads((root / "connections.toml").read_text())
    assert "next: cd " in out and "duftui run demo/hello" in out


def test_init_twice_keeps_every_file_and_adds_to_a_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "tasks").mkdir(parents=True)
    (root / "connections.toml").write_text("# mine\n")
    (root / ".gitignore").write_text("*.log")
    code, out, _ = invoke("init", str(root))
    assert code == 0
    assert (root / "connections.toml").read_text() == "# mine\n"
    assert "kept     connections.toml" in out and "kept     tasks/" in out
    assert (root / ".gitignore").read_text().splitlines()[0] == "*.log"
    assert ".duftui/" in (root / ".gitignore").read_text().splitlines()
    code, out, _ = invoke("init", str(root))
    assert "kept     .gitignore" in out
    assert (root / ".gitignore").read_text().count(".duftui/") == 1


def test_init_on_a_file_says_so(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, _, err = invoke("init", str(target))
    assert code != 0
    assert "Traceback" not in err
