"""Which environment a task asks for: its requirements (a file, a list, or the script's
PEP 723 block) and its interpreter, with project.toml's `[run]` as the default.

Order: the task's own `requirements` (or `[processing] requirements`), then the script's
inline metadata, then the project's default. Command tasks get an environment only when
they declare one themselves. Nothing here runs uv; it only reads files.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from duftui.definitions.models import Project, Task
from duftui.definitions.reading import UnreadableFile, read_regular_file

# The reference regular expression of PEP 723 (packaging.python.org, inline script metadata).
_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
KERNEL_PACKAGE = "ipykernel"


class RequestError(Exception):
    """The declaration cannot be read (missing file, bad PEP 723 block); says where."""


@dataclass(frozen=True)
class EnvRequest:
    """What to build: requirement lines, the interpreter asked for, where the lock goes."""

    requirements: tuple[str, ...]
    python: str | None  # as written: "3.12", a path, a specifier from requires-python
    source: str  # where the requirements come from, for messages ("scripts/req.txt")
    lock_path: Path
    base: Path  # folder relative requirement lines (-r, -e ./pkg) are read from
    extras: tuple[str, ...] = field(default=())  # added by duftui (ipykernel for notebooks)

    def input_digest(self, python_version: str) -> str:
        """Changes whenever what is asked for changes: then the lock is made again."""
        digest = hashlib.sha256()
        for line in (*self.requirements, "--", *self.extras, "--", python_version):
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()[:16]


def parse_requirement_lines(text: str) -> tuple[str, ...]:
    """Requirement lines without comments and blank lines (options like -r are kept)."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return tuple(lines)


def check_requirement(line: str) -> str | None:
    """Why a requirement line does not parse, or None (options and paths pass through)."""
    if line.startswith(("-", ".", "/", "file:", "git+", "http:", "https:")):
        return None
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(line)
    except InvalidRequirement as exc:
        return f"{line!r} is not a valid requirement ({str(exc).splitlines()[0]})"
    return None


def script_metadata(path: Path) -> dict | None:
    """The `# /// script` block of a Python file as a dict, None when it has none."""
    text = _read_head(str(path), _stamp(path))
    if text is None:
        return None
    blocks = [m for m in _BLOCK.finditer(text) if m.group("type") == "script"]
    if not blocks:
        return None
    if len(blocks) > 1:
        raise RequestError(f"{path.name}: more than one '# /// script' block")
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise RequestError(f"{path.name}: the '# /// script' block is not valid TOML: {exc}") from None
    deps = data.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise RequestError(f"{path.name}: '# /// script' dependencies must be a list of strings")
    return data


def _wanted_python(requires: object) -> str | None:
    """A PEP 723 `requires-python`: None (duftui's own interpreter) when that satisfies it,
    else the specifier, for uv to find a local interpreter that does."""
    if not isinstance(requires, str) or not requires.strip():
        return None
    import sys

    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        if SpecifierSet(requires).contains(".".join(map(str, sys.version_info[:3]))):
            return None
    except InvalidSpecifier:
        raise RequestError(f"requires-python {requires!r} is not a valid version specifier "
                           '(e.g. ">=3.11")') from None
    return requires


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=1024)
def _read_head(path: str, stamp: tuple[int, int, int] | None) -> str | None:
    """A script's text, read again only when it changes (one stat per run)."""
    if stamp is None:
        return None
    try:
        return read_regular_file(Path(path)).decode("utf-8", errors="replace")
    except (OSError, UnreadableFile):
        return None


def _inside(path: Path, root: Path, what: str) -> Path:
    """`path` resolved; RequestError when it leaves the workspace (its lock is written
    beside it, and a definition never writes outside the workspace)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise RequestError(f"{what} {path} is outside the workspace; keep it under {root}")
    return resolved


def _from_declaration(
    value: str | list[str], python: str | None, folder: Path, where: Path,
    extras: tuple[str, ...], root: Path,
) -> EnvRequest:
    suffix = ".kernel.lock" if extras else ".lock"
    if isinstance(value, list):
        return EnvRequest(tuple(value), python, f"{where.name} (inline list)",
                          where.with_name(where.stem + ".requirements" + suffix), folder, extras)
    path = _inside(folder / value, root, "requirements file")
    try:
        text = read_regular_file(path).decode("utf-8")
    except (OSError, UnreadableFile, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise RequestError(f"requirements file {value} cannot be read: {why}") from None
    return EnvRequest(parse_requirement_lines(text), python, value,
                      path.with_name(path.stem + suffix), path.parent, extras)


def request_for(
    spec: Task, folder: Path, task_file: Path, project: Project | None, purpose: str,
    root: Path,
) -> EnvRequest | None:
    """The environment `purpose` ("run", "notebook", "processing") of this task asks for,
    or None when it runs in duftui's own interpreter."""
    run = spec.run
    extras = (KERNEL_PACKAGE,) if purpose == "notebook" else ()
    if purpose == "processing":
        assert spec.processing is not None
        own, python = spec.processing.requirements or run.requirements, (
            spec.processing.python or run.python
        )
        script = folder / spec.processing.script
    else:
        own, python = run.requirements, run.python
        script = folder / run.file if run.file and run.kind == "python" else None
    default = project.run if project is not None else None
    python = python or (default.python if default else None)
    if own is not None:
        return _from_declaration(own, python, folder, task_file, extras, root)
    if script is not None:
        meta = script_metadata(script)
        if meta is not None:
            script = _inside(script, root, "script")
            return EnvRequest(tuple(meta.get("dependencies", [])),
                              python or _wanted_python(meta.get("requires-python")),
                              f"{script.name} (inline)",
                              script.with_name(script.stem + ".script.lock"), script.parent,
                              extras)
    if run.kind == "command" and purpose == "run":
        return None  # a command gets one on PATH only when it declares one itself
    if default is not None and default.requirements is not None:
        return _from_declaration(default.requirements, python, folder,
                                 folder / "project.toml", extras, root)
    if python is not None:
        return EnvRequest((), python, "no requirements", folder / f".{purpose}.lock", folder,
                          extras)
    return None
