"""A small workspace builder and helpers to run a real supervisor in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from duftui.definitions.loader import Catalogue, load_workspace
from duftui.definitions.secrets import SecretStore
from duftui.engine.submit import Submitted, submit_task
from duftui.engine.supervisor import Supervisor
from duftui.locations import secrets_file
from duftui.store.db import Store
from duftui.store.logs import read_lines
from duftui.store.runs import get_run
from duftui.store.tables import Run
from tests.conftest import python_env, write


class Workspace:
    """A throwaway workspace with a `p` project; tasks are added with `task()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tasks" / "p").mkdir(parents=True)
        self._store: Store | None = None

    def task(self, name: str, toml: str, script: str | None = None,
             project: str = "p") -> str:
        write(self.root / "tasks" / project / f"{name}.toml", textwrap.dedent(toml))
        if script is not None:
            write(self.root / "tasks" / project / "scripts" / f"{name}.py",
                  textwrap.dedent(script))
        return f"{project}/{name}"

    def python_task(self, name: str, script: str, extra: str = "", project: str = "p") -> str:
        return self.task(name, f'name = "{name}"\n{textwrap.dedent(extra)}\n[run]\n'
                         f'kind = "python"\nfile = "scripts/{name}.py"\n', script, project)

    def catalogue(self) -> Catalogue:
        catalogue = load_workspace(self.root)
        assert catalogue.ok, [str(p) for p in catalogue.errors]
        return catalogue

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.root / ".duftui" / "state.db")
        return self._store

    def secrets(self) -> SecretStore:
        return SecretStore(secrets_file())

    def submit(self, key: str, **kwargs) -> Submitted:
        return submit_task(self.store, self.catalogue(), key, secrets=self.secrets(), **kwargs)

    def supervise(self, *, batch_id: int | None = None, max_parallel: int = 4,
                  listener: Callable | None = None) -> Supervisor:
        """Run a supervisor in this process until nothing is queued or running."""
        supervisor = Supervisor(self.store, self.catalogue(), self.secrets(), batch_id=batch_id,
                                max_parallel=max_parallel, poll_interval=0.05, listener=listener)
        anyio.run(supervisor.run, True)
        return supervisor

    def run(self, key: str, **kwargs) -> Run:
        """Submit and supervise one task; return its (first) run."""
        submitted = self.submit(key, **kwargs)
        self.supervise(batch_id=submitted.batch_id)
        return self.get(submitted.run_ids[0])

    def get(self, run_id: int) -> Run:
        with self.store.read() as conn:
            run = get_run(conn, run_id)
        assert run is not None
        return run

    def lines(self, run_id: int, stream: str | None = None) -> list[str]:
        with self.store.read() as conn:
            found = read_lines(conn, run_id, 1, 1_000_000)
        return [ln.text for ln in found if stream is None or ln.stream == stream]

    def runs(self, where: str = "1=1") -> list[tuple]:
        with self.store.read() as conn:
            return conn.execute(text(
                f"SELECT id, task_key, status, attempt, retry_of, trigger, error FROM run "
                f"WHERE {where} ORDER BY id")).all()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


def duftui(workspace: Workspace, *args: str, timeout: float = 60,
           **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the real `python -m duftui` in a subprocess against the workspace."""
    return subprocess.run([sys.executable, "-m", "duftui", "--workspace", str(workspace.root),
                           *args], capture_output=True, text=True, env=python_env(),
                          timeout=timeout, **kwargs)


def spawn_duftui(workspace: Workspace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "duftui", "--workspace",
                             str(workspace.root), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=python_env(),
                            start_new_session=True)


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.02):
    """Poll until `predicate()` is truthy; fail with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def load_json(path: Path):
    return json.loads(path.read_text())
