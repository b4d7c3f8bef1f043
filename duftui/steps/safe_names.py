"""Names that come from outside never leave their folder.

A server's directory listing, a processing script's list of files and a local file name
on its way to a server are all text someone else chose. Before any of them becomes part
of a path that is written, it passes through here:

- `name_problem` says why one name is not a plain file name (a single path component:
  not empty, not `.` or `..`, no `/` or `\\`, no NUL or other control character);
- `climb_problem` says why a relative path written by a task's author (an output name,
  a delivery folder) leaves its base folder (absolute, `~`, or `..` above the base);
- `join_inside` joins checked components below a base and proves the result is inside.

Pure standard library, so definitions can use the same rules at validation time.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

NAME_RULE = "a file name must be one plain name: not empty, not . or .., without / or \\"


class UnsafeName(ValueError):
    """A name from outside that would write somewhere it must not; the message says which."""


def name_problem(name: str) -> str | None:
    """Why `name` is not one plain file name, or None when it is."""
    if not name:
        return "it is empty"
    if name in (".", ".."):
        return f"{name} is a folder reference, not a file"
    if "/" in name or "\\" in name:
        return "it holds a path separator (/ or \\)"
    if "\0" in name:
        return "it holds a NUL character"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "it holds a control character"
    return None


def check_name(name: str, what: str) -> str:
    """`name` itself when it is one plain file name; else UnsafeName naming `what`."""
    problem = name_problem(name)
    if problem is not None:
        raise UnsafeName(f"{what} {name!r} is refused: {problem} ({NAME_RULE})")
    return name


def climb_problem(path: str) -> str | None:
    """Why a relative path leaves the folder it is relative to, or None.

    Backslashes count as separators (they are on SMB and Windows servers), so
    `..\\x` climbs too. A `..` that stays below the base (`a/../b`) is fine."""
    if "\0" in path:
        return "it holds a NUL character"
    text = path.replace("\\", "/")
    if text.startswith("/"):
        return "it is an absolute path"
    if text.startswith("~"):
        return "it starts with ~ (a home folder)"
    if len(text) > 1 and text[1] == ":" and text[0].isalpha():
        return "it starts with a drive letter"
    depth = 0
    for part in text.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "its .. climbs above the folder"
        elif part not in ("", "."):
            depth += 1
    return None


def remote_inside(base: str | None, path: str) -> str | None:
    """Why a remote `path` leaves the connection's `base` (its base_path), or None.
    Without a base, the server's whole tree is the base: an absolute path is fine and
    only a relative `..` above the login folder is outside."""
    text = path.replace("\\", "/")
    if not base:
        return None if text.startswith("/") else climb_problem(path)
    root = posixpath.normpath(base.replace("\\", "/"))
    full = posixpath.normpath(posixpath.join(root, text))
    if full == root or full.startswith(root.rstrip("/") + "/"):
        return None
    if text.startswith("/"):
        return "it is an absolute path elsewhere on the server"
    return "its .. climbs above the folder"


def join_inside(base: Path, rel: str, what: str) -> Path:
    """`base / rel` for a relative path of plain names; UnsafeName if any part is not one
    or the result is not below `base` (a last check, whatever produced `rel`)."""
    parts = rel.split("/")
    for part in parts:
        problem = name_problem(part)
        if problem is not None:
            raise UnsafeName(f"{what} {rel!r} is refused: {problem} ({NAME_RULE})")
    target = base.joinpath(*parts)
    if not _below(target, base):
        raise UnsafeName(f"{what} {rel!r} is refused: it leaves {base}")
    return target


def _below(path: Path, base: Path) -> bool:
    normal = Path(posixpath.normpath(str(path)))
    root = Path(posixpath.normpath(str(base)))
    return normal != root and normal.is_relative_to(root)
