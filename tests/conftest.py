"""Shared fixtures: throwaway workspaces, state files and a CLI runner.

Every test works in its own temporary directory, so the suite runs in parallel
(pytest-xdist) and leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from duftui.cli import main
from duftui.store.db import Store

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the user's real config, secrets and workspace variables."""
    config = tmp_path / "_config"
    config.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("DUFTUI_SECRETS", str(config / "duftui" / "secrets.toml"))
    monkeypatch.delenv("DUFTUI_WORKSPACE", raising=False)
    monkeypatch.delenv("DUFTUI_DB", raising=False)


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    """A private copy of the bundled example workspace."""
    target = tmp_path / "ws"
    target.mkdir()
    shutil.copy(REPO / "connections.toml", target / "connections.toml")
    shutil.copytree(REPO / "tasks", target / "tasks",
                    ignore=shutil.ignore_patterns("__pycache__", ".duftui"))
    return target


@pytest.fixture
def empty_workspace(tmp_path: Path) -> Path:
    target = tmp_path / "empty"
    (target / "tasks").mkdir(parents=True)
    return target


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "state" / "state.db")
    yield opened
    opened.close()


class Cli:
    """Runs `duftui` in-process against one workspace."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(main, ["--workspace", str(self.workspace), *args],
                                  input=input, catch_exceptions=False)


@pytest.fixture
def cli(example_workspace: Path) -> Cli:
    return Cli(example_workspace)


def write(path: Path, text: str) -> Path:
    """Create a file (and its folders) with the given text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def python_env() -> dict[str, str]:
    """Environment for child processes that import duftui from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
