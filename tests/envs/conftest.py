"""Task environments with real uv and real installs from the package registry.

uv's cache lives in one temporary folder per test session (per xdist worker), so packages
are downloaded once and every later build links them from there; each test still builds
its own environments in its own workspace, as runs do.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.conftest import Workspace


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture(autouse=True)
def _shared_uv_cache(uv_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(uv_cache))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


def dead_index() -> str:
    """An index URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple"


def env_task(ws: Workspace, name: str, script: str, run_extra: str = "") -> str:
    """A python task in project p whose [run] table gets `run_extra` lines."""
    return ws.python_task(name, script, extra="") if not run_extra else ws.task(
        name, f'name = "{name}"\n[run]\nkind = "python"\nfile = "scripts/{name}.py"\n'
        f"{run_extra}\n", script)


def env_dirs(ws: Workspace) -> list[str]:
    """The built environments' keys (nothing half-built is ever among them)."""
    root = ws.root / ".duftui" / "envs"
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) \
        if root.is_dir() else []
