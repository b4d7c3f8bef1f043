"""What every definition edit shares: its errors and results, turning form values into
clean TOML data, the "changed on disk since the form opened" check, safe writes, audit.

A form holds TOML-shaped data (what `tomllib` gives for the file: `{"name": …, "run":
{…}, "schedule": [{…}]}`). `None` means "not set" and is left out; durations may be
`timedelta`s. Nothing here imports Textual: the console, the CLI and tests share it.
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from duftui.definitions.durations import format_duration, parse_duration
from duftui.definitions.parsing import rel_path
from duftui.definitions.problems import Problem, _model_at

if TYPE_CHECKING:
    from duftui.store.db import Store

ABSENT = ""  # the digest of a file that does not exist (as ProjectEntry.digest has it)


class EditError(Exception):
    """An edit was refused; `str(error)` says why and what to do."""


class ValidationFailed(EditError):
    """The definition has errors; nothing was written. `problems` are located like
    `duftui validate` prints them, each with its field path for the form."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"not saved, the definition has errors: {shown}{more}")


class FileChanged(EditError):
    """The file on disk is not the one the form opened: reload it, or save again with
    `overwrite=True`. `current` is `ABSENT` when the file was deleted meanwhile."""

    def __init__(self, path: Path, opened: str, current: str) -> None:
        self.path, self.opened, self.current = path, opened, current
        what = "was deleted" if current == ABSENT else "changed on disk"
        super().__init__(
            f"{path.name} {what} since the form opened it; reload it, or overwrite it "
            "with the form's values"
        )


class NotFound(EditError):
    """No such task, project, connection or trash entry."""


class KeyTaken(EditError):
    """Restoring would replace a definition that exists again under the same key."""


class InUse(EditError):
    """Deleting would break definitions that refer to this one; `users` names them.
    Pass `force=True` after the user confirmed."""

    def __init__(self, what: str, users: list[str], verb: str = "used") -> None:
        self.users = users
        super().__init__(f"{what} is {verb} by {', '.join(users)}; delete anyway?")


@dataclass(frozen=True)
class Draft:
    """A definition opened for a form: its data and the digest to pass back on save.

    `data` is None when the file cannot be parsed (fix it in an editor; `problems` say
    where). For a connection, `digest` covers only its own table in connections.toml.
    """

    target: str
    path: Path
    rel: str
    data: dict[str, Any] | None
    digest: str
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class SaveResult:
    """What a save (or duplicate, reschedule, restore) wrote.

    `digest` is the form's new `opened_digest`. `changed` is False when the file already
    held exactly this text (nothing written, nothing audited). `problems` are what is
    still reported for the written definition: warnings after a save; after a restore,
    whatever the restored file has (it is put back as it was).
    """

    target: str
    path: Path
    rel: str
    digest: str
    created: bool
    changed: bool
    text: str
    problems: list[Problem] = field(default_factory=list)


def problems_under(problems: list[Problem], prefix: str) -> list[Problem]:
    """The problems of one field or group, e.g. "schedule[0]" → its cron, timezone, …"""
    return [
        p for p in problems if p.field == prefix or p.field.startswith((f"{prefix}.", f"{prefix}["))
    ]


# -- form values to TOML data ----------------------------------------------------------


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy that TOML can hold: `None` left out, `timedelta` as "1h30m", paths as
    text with forward slashes."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value if v is not None]
        if isinstance(value, timedelta):
            return format_duration(value)
        if isinstance(value, PurePath):  # a file picker's answer
            return value.as_posix()
        return copy.deepcopy(value)

    return clean(data)


def keep_spelling(data: Any, old: Any) -> Any:
    """A duration the form shows as a `timedelta` (so normalizes to "1h30m") keeps the
    file's own spelling ("90m") while its value is unchanged: no diff for an untouched field."""
    if isinstance(data, dict) and isinstance(old, dict):
        return {k: keep_spelling(v, old[k]) if k in old else v for k, v in data.items()}
    if isinstance(data, list) and isinstance(old, list):
        return [keep_spelling(v, old[i]) if i < len(old) else v for i, v in enumerate(data)]
    if isinstance(data, str) and isinstance(old, str) and data != old:
        try:
            if parse_duration(data) == parse_duration(old):
                return old
        except ValueError:
            pass
    return data


def prune_defaults(
    data: dict[str, Any], old: dict[str, Any] | None, written: dict[str, Any]
) -> dict[str, Any]:
    """Leave out what a form filled in with default values, unless the file already says it.

    `written` is the model's document without defaults (`model_document`), so a key of
    `data` missing from it holds a default; dropping it never changes the definition.
    An emptied list of tables (`[[schedule]]`) goes too, rather than `schedule = []`.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        before = old.get(key) if isinstance(old, dict) else None
        had = isinstance(old, dict) and key in old
        if key not in written:
            emptied_tables = value == [] and isinstance(before, list) and bool(before)
            if not had or emptied_tables:
                continue
            out[key] = value
        elif isinstance(value, dict) and isinstance(written[key], dict):
            out[key] = prune_defaults(
                value, before if isinstance(before, dict) else None, written[key]
            )
        elif isinstance(value, list) and isinstance(written[key], list):
            out[key] = [
                prune_defaults(
                    item,
                    before[i] if isinstance(before, list) and i < len(before) else None,
                    written[key][i],
                )
                if isinstance(item, dict)
                and i < len(written[key])
                and isinstance(written[key][i], dict)
                else item
                for i, item in enumerate(value)
            ]
        else:
            out[key] = value
    return out


def ordered(data: dict[str, Any], model: type[BaseModel], path: tuple[Any, ...] = ()) -> Any:
    """Keys in the models' field order at every level, so a new file reads like the
    examples (name first, pipeline tables last) whatever order the form used."""
    holder = _model_at(model, path) if path else model
    order = list(holder.model_fields) if holder else []
    keys = sorted(data, key=lambda k: order.index(k) if k in order else len(order))
    out: dict[str, Any] = {}
    for key in keys:
        value = data[key]
        if isinstance(value, dict):
            value = ordered(value, model, (*path, key))
        elif isinstance(value, list):
            value = [
                ordered(item, model, (*path, key, i)) if isinstance(item, dict) else item
                for i, item in enumerate(value)
            ]
        out[key] = value
    return out


# -- reading and writing files ---------------------------------------------------------


def read_text(path: Path, root: Path) -> tuple[str | None, str]:
    """(text, digest) of a file read once, so the digest describes exactly that text;
    (None, ABSENT) when there is no file. A file that is not UTF-8 cannot be edited in a
    form (its bytes would be changed): ValidationFailed with the loader's message."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, ABSENT
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "file is not valid UTF-8; save it with UTF-8 encoding"
        raise ValidationFailed([Problem(rel_path(path, root), line, "", message)]) from None
    return text, hashlib.sha256(raw).hexdigest()


def check_unchanged(path: Path, opened: str, current: str, overwrite: bool) -> None:
    if opened != current and not overwrite:
        raise FileChanged(path, opened, current)


def write_new(path: Path, text: str) -> None:
    """Create a file atomically without ever replacing one: a temporary file is linked to
    the final name, which fails if the name exists (two consoles creating one key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system: check, then rename
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def move_new(source: Path, target: Path) -> None:
    """Move a file to a name that must not exist yet (trash and restore)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(source, target)
        return
    source.unlink()


def audit(
    store: Store | None, action: str, target: str, detail: dict[str, Any], user: str | None
) -> None:
    """One audit row (DESIGN §4) for a definition change; no store, no row (tests, tools)."""
    if store is None:
        return
    from duftui.store.audit import record

    with store.write() as conn:
        record(conn, action, target, detail, user=user)
