"""Reading one TOML definition file: bytes to data, with located syntax and model errors."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from duftui.definitions.locate import TomlLocator, explain_toml_error, split_toml_error
from duftui.definitions.problems import Problem, field_name, problems_from_validation
from duftui.definitions.reading import UnreadableFile, read_regular_file

# A definition never nests deeper than a few levels; far deeper text makes tomllib
# recurse until RecursionError, and long dotted keys make it (and the locator) quadratic.
MAX_NESTING = 50
MAX_KEY_PARTS = 50
MAX_DEPTH = 64


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
        raw = read_regular_file(path)
    except UnreadableFile as exc:
        parsed.problems.append(Problem(rel, None, "", str(exc)))
        return parsed
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
    too_deep = nesting_problem(text)
    if too_deep is not None:
        line, message = too_deep
        parsed.problems.append(Problem(parsed.rel, line, "", f"invalid TOML: {message}"))
        return parsed
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = split_toml_error(str(exc), text)
        parsed.problems.append(
            Problem(parsed.rel, line, "", f"invalid TOML: {explain_toml_error(message)}")
        )
        return parsed
    except RecursionError:
        parsed.problems.append(Problem(parsed.rel, None, "", f"invalid TOML: {_TOO_DEEP}"))
        return parsed
    parsed.locator = TomlLocator(text)
    found = data_problems(data)
    if found:
        for where, message in found:
            line = parsed.locator.line_of(where)
            parsed.problems.append(Problem(parsed.rel, line, _shown_field(where), message))
        return parsed
    parsed.data = data
    return parsed


_TOO_DEEP = (
    f"values are nested more than {MAX_NESTING} deep (arrays or inline tables inside each "
    "other); a definition never needs that many levels"
)
_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*'
    r"|[\[\]{}.=,\n]",
    re.DOTALL,
)


def nesting_problem(text: str) -> tuple[int, str] | None:
    """(line, message) when arrays or inline tables nest deeper than MAX_NESTING, or a key
    has more than MAX_KEY_PARTS dotted parts; checked on the text, before tomllib sees it.

    A rough scan (strings and comments skipped) that only counts: tomllib still judges the
    syntax. Most files have too few brackets and dots to need it."""
    if text.count("[") + text.count("{") <= MAX_NESTING and text.count(".") <= MAX_KEY_PARTS:
        return None
    line = 1
    stack: list[str] = []
    in_key = True
    dots = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        first = token[0]
        if first == "\n":
            line += 1
            if not stack:
                in_key, dots = True, 0
        elif first in "\"'":
            line += token.count("\n")
        elif first == "#":
            continue
        elif in_key:
            if first == ".":
                dots += 1
                if dots >= MAX_KEY_PARTS:
                    return line, (
                        f"a key has more than {MAX_KEY_PARTS} dotted parts; a definition never "
                        "needs that many levels"
                    )
            elif first == "=":
                in_key, dots = False, 0
            elif first == "}" and stack:
                stack.pop()
                in_key = False
        elif first in "[{":
            stack.append(first)
            if len(stack) > MAX_NESTING:
                return line, _TOO_DEEP
            if first == "{":
                in_key, dots = True, 0
        elif first in "]}":
            if stack:
                stack.pop()
        elif first == "," and stack and stack[-1] == "{":
            in_key, dots = True, 0
    return None


def data_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """NUL characters in any key or string (no program, file name or environment variable
    can hold one) and tables nested deeper than MAX_DEPTH, as (path, message) pairs."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while pending:
        path, value = pending.pop()
        if len(path) > MAX_DEPTH:
            found.append(
                (path[:MAX_DEPTH], f"values are nested more than {MAX_DEPTH} deep; a definition "
                 "never needs that many levels")
            )
            break
        if isinstance(value, str):
            if "\0" in value:
                found.append((path, NUL_MESSAGE))
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\0" in key:
                    found.append(((*path, key), "the key " + NUL_MESSAGE))
                pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend(((*path, index), item) for index, item in enumerate(value))
    found.sort(key=lambda item: [str(part) for part in item[0]])
    return found


NUL_MESSAGE = (
    "holds a NUL character (\\u0000), which no program argument, file name or environment "
    "variable can carry; remove it"
)


def _shown_field(path: tuple[str | int, ...]) -> str:
    return field_name([p.replace("\0", "\\u0000") if isinstance(p, str) else p for p in path])


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as `ParsedFile.digest` has it; "" when there is no file
    (or when what is there is not a regular file a definition can be read from)."""
    try:
        return hashlib.sha256(read_regular_file(path)).hexdigest()
    except (FileNotFoundError, UnreadableFile):
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
