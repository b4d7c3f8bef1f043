"""Lock, key and build task environments with uv, once per key, never half-built.

- The lock (`uv pip compile --generate-hashes`) is written next to the requirements with a
  first line naming what it was made from; while that still matches, it is used as is (no
  index needed), so a committed lock pins the environment.
- The key is a digest of the lock's body and the interpreter: tasks asking for the same
  locked set on the same Python share `.duftui/envs/<key>/`.
- A build runs in `.duftui/envs/.build-<key>-*/` under a file lock and is renamed into place
  when complete: a second run that needs the same key waits for the first and reuses its
  result; a failed build leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from duftui import locations
from duftui.envs.request import EnvRequest
from duftui.envs.uvtool import (
    NO_DOWNLOAD,
    Interpreter,
    UvError,
    find_interpreter,
    index_settings,
    run_uv,
)

META = "duftui-env.json"
LOCK_HEAD = "# duftui-lock input="


class EnvError(Exception):
    """The environment cannot be made; the message says why (with uv's words)."""


@dataclass(frozen=True)
class Resolved:
    """An environment as far as it can be known without building it."""

    request: EnvRequest
    interpreter: Interpreter
    key: str | None  # None: the lock is missing or stale (needs the index to make)
    lock_hash: str | None
    root: Path

    @property
    def path(self) -> Path | None:
        return self.root / self.key if self.key else None

    @property
    def ready(self) -> bool:
        return self.path is not None and (self.path / META).is_file()

    @property
    def python(self) -> Path:
        assert self.path is not None
        return self.path / "bin" / "python"

    def describe(self) -> str:
        """The line a run's log gets: key, Python version and lock hash."""
        lock = f"lock sha256:{self.lock_hash}" if self.lock_hash else "no lock yet"
        return (f"environment {self.key or '(not built)'} (python {self.interpreter.version}, "
                f"{lock}, from {self.request.source})")


def envs_root(workspace: Path) -> Path:
    return locations.state_dir(workspace) / "envs"


def _lock_body(request: EnvRequest, interpreter: Interpreter) -> str | None:
    """The lock's text after its first line when it matches the request, else None."""
    if not request.requirements and not request.extras:
        return ""
    try:
        text = request.lock_path.read_text(encoding="utf-8")
    except OSError:
        return None
    head, _, body = text.partition("\n")
    if not head.startswith(f"{LOCK_HEAD}{request.input_digest(interpreter.version)} "):
        return None  # made from other requirements or for another Python: lock again
    return body


def _key(body: str, interpreter: Interpreter) -> tuple[str, str]:
    lock_hash = hashlib.sha256(body.encode()).hexdigest()[:16]
    key = hashlib.sha256(f"{body}\0{interpreter.ident}".encode()).hexdigest()[:16]
    return key, lock_hash


def resolve(request: EnvRequest, workspace: Path) -> Resolved:
    """Key and state of the environment, from the lock on disk (no index, no build)."""
    try:
        interpreter = find_interpreter(request.python)
    except UvError as exc:
        raise EnvError(str(exc)) from None
    body = _lock_body(request, interpreter)
    root = envs_root(workspace)
    if body is None:
        return Resolved(request, interpreter, None, None, root)
    key, lock_hash = _key(body, interpreter)
    return Resolved(request, interpreter, key, lock_hash, root)


def write_lock(request: EnvRequest, interpreter: Interpreter) -> str:
    """Resolve with uv (needs the index) and write the lock beside the requirements."""
    lines = [*request.requirements, *request.extras]
    args = ["pip", "compile", "-", "--generate-hashes", "--no-header", "--no-annotate",
            "--quiet", "--python", interpreter.path, *NO_DOWNLOAD,
            *index_settings().args(locking=True)]
    try:
        body = run_uv(args, cwd=request.base, stdin="\n".join(lines) + "\n")
    except UvError as exc:
        raise EnvError(f"cannot lock the requirements of {request.source}: {exc}") from None
    head = (f"{LOCK_HEAD}{request.input_digest(interpreter.version)} python={interpreter.version}"
            f" (written by duftui from {request.source}; commit it to pin the environment)")
    temp = request.lock_path.with_name(f".{request.lock_path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(f"{head}\n{body}", encoding="utf-8")
        os.replace(temp, request.lock_path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise EnvError(f"cannot write the lock {request.lock_path}: {exc.strerror}") from None
    return body


def ensure(request: EnvRequest, workspace: Path, task_key: str,
           say: Callable[[str], None] = lambda _line: None) -> Resolved:
    """A ready environment for `request`, building it (once, shared) when needed."""
    found = resolve(request, workspace)
    if found.ready:
        touch(found, task_key)
        return found
    found.root.mkdir(parents=True, exist_ok=True)
    if found.key is None:
        lock_id = hashlib.sha256(str(request.lock_path).encode()).hexdigest()[:16]
        with _exclusive(found.root / f".lock-{lock_id}.lock", say, f"the lock of {request.source}"):
            found = resolve(request, workspace)  # another run may have written it meanwhile
            if found.key is None:
                say(f"locking {request.source} for python {found.interpreter.version} with uv")
                body = write_lock(request, found.interpreter)
                key, lock_hash = _key(body, found.interpreter)
                found = Resolved(request, found.interpreter, key, lock_hash, found.root)
    assert found.path is not None
    if not found.ready:
        with _exclusive(found.root / f".{found.key}.lock", say, f"environment {found.key}"):
            if not found.ready:
                _build(found, say)
    touch(found, task_key)
    return found


@contextlib.contextmanager
def _exclusive(path: Path, say: Callable[[str], None], what: str) -> Iterator[None]:
    """Hold an exclusive file lock: a second run needing the same thing waits, then finds
    it made."""
    with open(path, "w") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for {what}: another run is making it")
            fcntl.flock(guard, fcntl.LOCK_EX)
        yield


def _build(found: Resolved, say: Callable[[str], None]) -> None:
    assert found.path is not None and found.key is not None
    say(f"building environment {found.key} for {found.request.source} "
        f"(python {found.interpreter.version}) with uv")
    started = time.monotonic()
    for stale in found.root.glob(f".build-{found.key}-*"):
        shutil.rmtree(stale, ignore_errors=True)  # a killed build's: we hold its lock now
    temp = Path(tempfile.mkdtemp(prefix=f".build-{found.key}-", dir=found.root))
    try:
        venv = temp / "env"
        run_uv(["venv", "--quiet", "--relocatable", "--python", found.interpreter.path,
                *NO_DOWNLOAD, str(venv)])
        body = _lock_body(found.request, found.interpreter)
        if body is None or _key(body, found.interpreter)[0] != found.key:
            raise EnvError(f"the lock {found.request.lock_path} changed while the environment "
                           "was being built; start the run again")
        if body.strip():
            lock = temp / "lock.txt"
            lock.write_text(body, encoding="utf-8")
            _sync(venv / "bin" / "python", lock, found.request.base)
        meta = {"key": found.key, "python": found.interpreter.version,
                "interpreter": found.interpreter.path, "lock_hash": found.lock_hash,
                "source": found.request.source, "lock": str(found.request.lock_path),
                "packages": _packages(body), "built": time.time()}
        (venv / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        shutil.rmtree(found.path, ignore_errors=True)  # not ready (no record): not in use
        os.rename(venv, found.path)
    except (UvError, OSError) as exc:
        raise EnvError(f"building the environment for {found.request.source} failed: "
                       f"{exc}") from None
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    say(f"environment {found.key} built in {time.monotonic() - started:.1f}s")


def _sync(python: Path, lock: Path, base: Path) -> None:
    """Install the lock: from uv's cache alone first (every file is pinned by its hash, so
    the cache is as good as the index, and much faster), else from the index."""
    argv = ["pip", "sync", "--quiet", "--python", str(python), *NO_DOWNLOAD,
            *index_settings().args(), str(lock)]
    try:
        run_uv([*argv, "--offline"], cwd=base)  # relative lines are read from `base`
    except UvError:
        run_uv(argv, cwd=base)


def _packages(body: str) -> list[str]:
    """"name==version" of each locked package, from the lock's requirement lines."""
    return [line.split(" ", 1)[0].rstrip("\\").strip() for line in body.splitlines()
            if line and not line.startswith((" ", "#", "-")) and "==" in line]


def touch(found: Resolved, task_key: str) -> None:
    """Remember that `task_key` used this environment now (for `duftui envs` and prune)."""
    assert found.path is not None
    used = found.path / "duftui-used"
    try:
        used.mkdir(exist_ok=True)
        mark = used / task_key.replace("/", "%")
        mark.touch()
        os.utime(mark)
    except OSError:
        pass  # only bookkeeping: the run goes on
