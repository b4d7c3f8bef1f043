"""Definitions back to TOML: clean files a person would write, that load to the same model.

`model_document()` gives plain data (defaults left out, durations as "30s"); `dumps_task()`
renders it with tomlkit. Editing an existing file while keeping its comments is done with
tomlkit in `update_document()`, which changes only the keys whose values differ.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel
from tomlkit.items import AoT, InlineTable, Table

from duftui.definitions.models import Project, Task


def model_document(model: BaseModel) -> dict[str, Any]:
    """The model as TOML-ready data with default values left out."""
    data = model.model_dump(mode="python", exclude_defaults=True, exclude_none=True)
    return _clean(data)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def dumps_task(task: Task) -> str:
    return render(_ordered(model_document(task), Task))


def dumps_project(project: Project) -> str:
    return render(_ordered(model_document(project), Project))


def render(data: dict[str, Any]) -> str:
    """TOML the way people write it: `[run]`, `[params.x]`, `[[schedule]]`, short arrays
    on one line (tomli-w would inline tables in arrays instead)."""
    document = tomlkit.document()
    _fill(document, data, top=True)
    return tomlkit.dumps(document)


def _fill(container: Any, data: dict[str, Any], top: bool = False) -> None:
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_aot(v)}
    for key, value in scalars.items():
        container[key] = _inline(value)
    for key, value in data.items():
        if _is_table(value):
            nested_only = value and all(_is_table(v) for v in value.values())
            table = tomlkit.table(is_super_table=bool(nested_only))
            _fill(table, value)
            container[key] = table
        elif _is_aot(value):
            array = tomlkit.aot()
            for item in value:
                table = tomlkit.table()
                _fill(table, item)
                array.append(table)
            container[key] = array


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and not _is_reference(value)


def _is_aot(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_table(v) for v in value)


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) in ({"env"}, {"secret"})


def _inline(value: Any) -> Any:
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update({k: _inline(v) for k, v in value.items()})
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_inline(v) for v in value)
        return array
    return value


def _ordered(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Keys in the model's field order (name first, pipeline tables last)."""
    order = list(model.model_fields)
    return {
        key: data[key] for key in sorted(data, key=lambda k: order.index(k) if k in order else 99)
    }


def update_document(text: str, new: dict[str, Any] | BaseModel) -> str:
    """Rewrite `text` to hold `new`, keeping comments and key order where keys survive.

    Given a model, a key the file sets to the value the model still has is kept even when
    it is a default (`enabled = true` stays written); given plain data, keys it lacks go.
    Arrays of tables are merged entry by entry, so comments inside `[[schedule]]` survive.
    """
    if isinstance(new, BaseModel):
        full = _clean(new.model_dump(mode="python", exclude_none=True))
        data = model_document(new)
    else:
        full, data = None, new
    document = tomlkit.parse(text)
    _merge(document, data, full)
    return tomlkit.dumps(document).rstrip("\n") + "\n"


def _merge(target: Any, new: dict[str, Any], full: dict[str, Any] | None) -> None:
    for key in list(target.keys()):
        if key in new:
            continue
        if full is not None and key in full and _plain(target[key]) == full[key]:
            continue
        del target[key]
    for key, value in new.items():
        below = full.get(key) if isinstance(full, dict) else None
        if key in target:
            current = target[key]
            if isinstance(value, dict) and isinstance(current, dict):
                _merge(current, value, below if isinstance(below, dict) else None)
                continue
            if isinstance(current, AoT) and _is_aot(value):
                _merge_aot(current, value, below if isinstance(below, list) else None)
                continue
            if _plain(current) == value:
                continue
            if isinstance(current, Table | AoT) and not (_is_table(value) or _is_aot(value)):
                del target[key]  # a table became a plain value: write it where values go
                _add(target, key, value)
                continue
            target[key] = _keep_comment(current, value)
        else:
            _add(target, key, value)


def _add(target: Any, key: str, value: Any) -> None:
    """A key the document lacks, written the way `render()` writes it (references inline,
    tables as `[headers]`) and put where a person would: a value after the last value of
    its table, a table after the last entry of its parent, before any trailing comments
    (those usually introduce the next table)."""
    if isinstance(target, InlineTable):
        target[key] = _inline(value)
        return
    container = target.value if isinstance(target, Table) else target
    body = getattr(container, "body", None)
    if _is_table(value) or _is_aot(value):
        if _is_aot(value):
            item: Any = tomlkit.aot()
            for entry in value:
                table = tomlkit.table()
                _fill(table, entry)
                item.append(table)
        else:
            nested_only = bool(value) and all(_is_table(v) for v in value.values())
            item = tomlkit.table(is_super_table=nested_only)
            _fill(item, value)
        keyed = [i for i, (k, _) in enumerate(body or []) if k is not None]
    else:
        item = tomlkit.item(_inline(value))
        keyed = [
            i
            for i, (k, v) in enumerate(body or [])
            if k is not None and not isinstance(v, Table | AoT)
        ]
        if not keyed and body:
            tables = [i for i, (k, _) in enumerate(body) if k is not None]
            if tables:  # the first value of a file that has only tables
                keyed = [tables[0] - 1]
                following = body[tables[0]][1]
                if not following.trivia.indent.startswith("\n"):
                    following.trivia.indent = "\n" + following.trivia.indent
    index = keyed[-1] + 1 if keyed else None
    if body is None or index is None or index >= len(body) or not hasattr(container, "_insert_at"):
        target[key] = item
    else:
        if isinstance(item, Table):
            item.trivia.indent = "\n"
        container._insert_at(index, key, item)


def _merge_aot(target: AoT, new: list[dict[str, Any]], full: list[Any] | None) -> None:
    for index, item in enumerate(new):
        below = full[index] if full is not None and index < len(full) else None
        if index < len(target):
            _merge(target[index], item, below)
        else:
            table = tomlkit.table()
            _fill(table, item)
            if len(target):
                target[len(target) - 1].add(tomlkit.nl())
            target.append(table)
    while len(target) > len(new):
        del target[len(target) - 1]


def _keep_comment(current: Any, value: Any) -> Any:
    """A new value for a key, carrying over the comment at the end of its line."""
    item = tomlkit.item(_inline(value) if isinstance(value, dict | list) else value)
    trivia = getattr(current, "trivia", None)
    if trivia is not None and trivia.comment and not isinstance(item, dict):
        item.trivia.comment_ws = trivia.comment_ws
        item.trivia.comment = trivia.comment
    return item


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def write_atomic(path: Path, text: str) -> None:
    """Write a file via a temporary file and rename, so readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
