"""What a task in its own environment sees: its interpreter, `duftui.task` (and the DUFT
shim when it uses DUFT) on PYTHONPATH, and nothing of duftui's own packages.

`duftui.task` is standard library only, so a copy of just that module (in a `duftui`
package of its own, under `.duftui/envs/.support/<digest>/`) is all a task needs to import
it; the rest of duftui and its dependencies stay out of reach.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from duftui.compat.duft import SHIM_DIR
from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.envs.build import Resolved, ensure, envs_root
from duftui.envs.request import EnvRequest, request_for

_TASK_MODULE = Path(__file__).resolve().parent.parent / "task.py"


def entry_request(catalogue: Catalogue, entry: TaskEntry, purpose: str) -> EnvRequest | None:
    """The environment this task's `purpose` ("run", "notebook", "processing") asks for."""
    assert entry.spec is not None
    project = catalogue.projects.get(entry.project)
    return request_for(entry.spec, entry.folder, entry.path,
                       project.spec if project else None, purpose, catalogue.root)


@functools.lru_cache(maxsize=1)
def _module_digest() -> tuple[str, bytes]:
    text = _TASK_MODULE.read_bytes()
    return hashlib.sha256(text).hexdigest()[:12], text


def support_dir(workspace: Path) -> Path:
    """The folder holding only `duftui/task.py`, made once per version of that module."""
    digest, text = _module_digest()
    target = envs_root(workspace) / ".support" / digest
    if (target / "duftui" / "task.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        (temp / "duftui").mkdir()
        (temp / "duftui" / "__init__.py").write_text(
            '"""Only duftui.task, for tasks in their own environment."""\n', encoding="utf-8")
        (temp / "duftui" / "task.py").write_bytes(text)
        try:
            os.rename(temp, target)
        except OSError:  # another run made it first
            pass
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def isolated_pythonpath(workspace: Path, duft: bool) -> str:
    """PYTHONPATH for a task in its own environment: `duftui.task`, plus DUFT's shim."""
    parts = [str(support_dir(workspace))]
    if duft:
        parts.insert(0, str(SHIM_DIR))
    return os.pathsep.join(parts)


def apply(env: dict[str, str], found: Resolved, workspace: Path, duft: bool) -> None:
    """Point a task's environment variables at its own environment."""
    assert found.path is not None
    env["PYTHONPATH"] = isolated_pythonpath(workspace, duft)
    env["VIRTUAL_ENV"] = str(found.path)
    env["PATH"] = os.pathsep.join(p for p in (str(found.path / "bin"), env.get("PATH", "")) if p)
    env.pop("PYTHONHOME", None)


class RunEnvironment:
    """A python or command run's environment: ready (run its interpreter directly) or not
    yet built (the run starts with `python -m duftui.envs`, which builds it first)."""

    def __init__(self, found: Resolved, workspace: Path, task_key: str) -> None:
        self.found = found
        self.workspace = workspace
        self.task_key = task_key

    @property
    def ready(self) -> bool:
        return self.found.ready

    def describe(self) -> str:
        return self.found.describe()

    def argv(self, env: dict[str, str], tail: list[str], duft: bool, python: bool) -> list[str]:
        """The run's argv; `tail` follows the interpreter (python) or is the command."""
        import sys

        from duftui.envs.__main__ import encode
        from duftui.envs.build import touch

        if self.ready:
            apply(env, self.found, self.workspace, duft)
            touch(self.found, self.task_key)
            return [str(self.found.python), "-u", *tail] if python else tail
        spec = encode(self.found.request, self.workspace, self.task_key,
                      isolated_pythonpath(self.workspace, duft), python)
        return [sys.executable, "-m", "duftui.envs", spec, "--", *tail]


def kernel_python(catalogue: Catalogue, entry: TaskEntry, env: dict[str, str],
                  say: Callable[[str], None]) -> str | None:
    """The interpreter a notebook's kernel runs on when the task has its own environment
    (built here if needed, ipykernel included), with `env` pointed at it; else None.
    Raises EnvError or RequestError with the reason."""
    request = entry_request(catalogue, entry, "notebook")
    if request is None:
        return None
    found = ensure(request, catalogue.root, entry.key, say)
    say(found.describe())
    apply(env, found, catalogue.root, duft=str(SHIM_DIR) in env.get("PYTHONPATH", ""))
    return str(found.python)
