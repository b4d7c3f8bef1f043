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
    return {key: data[key] for key in sorted(data, key=lambda k: order.index(k) if k in order else 99)}


def update_document(text: str, new: dict[str, Any]) -> str:
    """Rewrite `text` to hold `new`, keeping comments and key order where keys survive."""
    document = tomlkit.parse(text)
    _merge(document, new)
    return tomlkit.dumps(document)


def _merge(target: Any, new: dict[str, Any]) -> None:
    for key in list(target.keys()):
        if key not in new:
            del target[key]
    for key, value in new.items():
        if key in target:
            current = target[key]
            if isinstance(value, dict) and hasattr(current, "keys"):
                _merge(current, value)
                continue
            if _plain(current) == value:
                continue
        target[key] = value


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
