"""What `duftui envs` lists, builds and prunes: the environments under `.duftui/envs/`.

Each environment keeps its own record (`duftui-env.json`: key, Python, lock hash, packages)
and one marker file per task that used it (`duftui-used/<project%task>`, touched at each
run), so listing and pruning need neither the state file nor uv.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.envs.build import META, Resolved, ensure, envs_root, resolve
from duftui.envs.support import entry_request


@dataclass
class EnvInfo:
    key: str
    python: str
    packages: list[str]
    size: int
    last_used: float
    tasks: list[str]
    source: str
    lock_hash: str
    path: str

    def as_json(self) -> dict:
        return asdict(self)


def _size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def list_envs(workspace: Path) -> list[EnvInfo]:
    """Every built environment, most recently used first."""
    root = envs_root(workspace)
    found = []
    for folder in sorted(root.glob("[0-9a-f]*")) if root.is_dir() else []:
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        marks = list((folder / "duftui-used").glob("*"))
        times = [m.stat().st_mtime for m in marks] or [meta.get("built", 0.0)]
        found.append(EnvInfo(
            key=folder.name, python=meta.get("python", "?"), packages=meta.get("packages", []),
            size=_size(folder), last_used=max(times),
            tasks=sorted(m.name.replace("%", "/") for m in marks),
            source=meta.get("source", ""), lock_hash=meta.get("lock_hash") or "",
            path=str(folder)))
    return sorted(found, key=lambda e: -e.last_used)


def prune(workspace: Path, unused_for: float, now: float | None = None) -> list[str]:
    """Remove environments no run used for `unused_for` seconds, and builds left behind by
    a killed process (their build lock is free); the keys removed."""
    root = envs_root(workspace)
    now = time.time() if now is None else now
    removed = []
    for env in list_envs(workspace):
        if now - env.last_used < unused_for:
            continue
        folder = Path(env.path)
        with _try_lock(root / f".{env.key}.lock") as held:
            if not held:
                continue  # being rebuilt right now
            gone = root / f".prune-{env.key}-{os.getpid()}"
            try:
                os.rename(folder, gone)  # never half there: first out of place, then removed
            except OSError:
                continue
            shutil.rmtree(gone, ignore_errors=True)
            removed.append(env.key)
    for stale in root.glob(".build-*") if root.is_dir() else []:
        key = stale.name.split("-")[1]
        with _try_lock(root / f".{key}.lock") as held:
            if held:
                shutil.rmtree(stale, ignore_errors=True)
    return removed


@contextlib.contextmanager
def _try_lock(path: Path) -> Iterator[bool]:
    """Take a build lock without waiting; yields whether it was free."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


PURPOSES = ("run", "notebook", "processing")


def task_requests(catalogue: Catalogue, entry: TaskEntry) -> list[tuple[str, object]]:
    """(purpose, request) for each environment this task uses."""
    assert entry.spec is not None
    spec = entry.spec
    purposes = []
    if spec.run.kind in ("python", "command"):
        purposes.append("run")
    if spec.run.kind == "notebook":
        purposes.append("notebook")
    if spec.processing is not None:
        purposes.append("processing")
    found = []
    for purpose in purposes:
        request = entry_request(catalogue, entry, purpose)
        if request is not None:
            found.append((purpose, request))
    return found


def build_for_task(catalogue: Catalogue, entry: TaskEntry,
                   say: Callable[[str], None]) -> list[Resolved]:
    """Build (or find) every environment the task uses, as a run would."""
    return [ensure(request, catalogue.root, entry.key, say)  # type: ignore[arg-type]
            for _purpose, request in task_requests(catalogue, entry)]


def describe_for_task(catalogue: Catalogue, entry: TaskEntry) -> list[dict]:
    """What preview shows: each environment the task would use, built or not."""
    shown = []
    for purpose, request in task_requests(catalogue, entry):
        found = resolve(request, catalogue.root)  # type: ignore[arg-type]
        shown.append({"for": purpose, "source": found.request.source,
                      "python": found.interpreter.version,
                      "interpreter": found.interpreter.path, "key": found.key,
                      "lock": str(found.request.lock_path), "lock_hash": found.lock_hash,
                      "ready": found.ready,
                      "path": str(found.path) if found.path else None})
    return shown
