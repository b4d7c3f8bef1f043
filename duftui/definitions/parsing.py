"""Reading one TOML definition file: bytes to data, with located syntax and model errors."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from duftui.definitions.locate import TomlLocator, explain_toml_error, split_toml_error
from duftui.definitions.problems import Problem, problems_from_validation


@dataclass
class ParsedFile:
    """A TOML file read from disk: its text, data (None if unreadable) and locator."""

    path: Path
    rel: str
    text: str = ""
    data: dict[str, Any] | None = None
    locator: TomlLocator | None = None
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)


def read_toml(path: Path, root: Path) -> ParsedFile:
    """Read and parse one TOML file; syntax errors become located problems."""
    rel = rel_path(path, root)
    parsed = ParsedFile(path=path, rel=rel)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        parsed.problems.append(Problem(rel, None, "", f"cannot read file: {exc.strerror}"))
        return parsed
    parsed.digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        parsed.problems.append(
            Problem(rel, line, "", "file is not valid UTF-8; save it with UTF-8 encoding")
        )
        return parsed
    return _parse(parsed, text)


def parse_text(text: str, path: Path, root: Path) -> ParsedFile:
    """Parse `text` as if it were the file at `path`: the editor validates what it is about
    to write with the loader's own steps, so messages and lines match `duftui validate`."""
    parsed = ParsedFile(path=path, rel=rel_path(path, root))
    parsed.digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _parse(parsed, text)


def _parse(parsed: ParsedFile, text: str) -> ParsedFile:
    parsed.text = text
    try:
        parsed.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = split_toml_error(str(exc), text)
        parsed.problems.append(
            Problem(parsed.rel, line, "", f"invalid TOML: {explain_toml_error(message)}")
        )
        return parsed
    parsed.locator = TomlLocator(text)
    return parsed


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as `ParsedFile.digest` has it; "" when there is no file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def validate_model(
    model: type[BaseModel], parsed: ParsedFile, prefix: tuple[str | int, ...] = ()
) -> Any:
    """Validate parsed data against a model; problems go onto `parsed`."""
    data = parsed.data
    for part in prefix:
        data = data[part]  # type: ignore[index]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parsed.problems.extend(
            problems_from_validation(exc, model, data, parsed.rel, parsed.locator, prefix)
        )
        return None


def rel_path(path: Path, root: Path) -> str:
    """`path` relative to the workspace, with forward slashes, for messages."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
