"""Find the line of any key path in a TOML text, so errors can say `file:line`.

`tomllib` gives values but no positions. This scanner walks the (already valid) text once
and records the line where each key, table header, array-of-tables entry and array element
begins. `line_of(("schedule", 1, "cron"))` then answers directly or falls back to the
nearest enclosing key that it knows.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Sequence

PathKey = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def split_toml_error(message: str, text: str) -> tuple[int | None, str]:
    """Split tomllib's "... (at line 3, column 5)" into (3, "...")."""
    match = _TOML_POS.search(message)
    if match:
        return int(match.group(1)), message[: match.start()]
    match = _TOML_END.search(message)
    if match:
        return max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), message[
            : match.start()
        ]
    return None, message


_EXPLAINED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Illegal character '\\n'"), "a string is not closed before the end of the line"),
    (re.compile(r"Unterminated string"), "a multi-line string is not closed"),
    (re.compile(r'Expected "\'"'), "a string is not closed"),
    (re.compile(r"Cannot overwrite a value"), "a key or table is defined twice"),
    (re.compile(r"Cannot declare \((.*)\) twice"), "table [{0}] is declared twice"),
    (
        re.compile(r"Unclosed array"),
        "an array is not closed: a ',' between items or the ']' is missing",
    ),
    (
        re.compile(r"Unclosed inline table"),
        "an inline table is not closed: it must end with '}' on the same line",
    ),
    (
        re.compile(r"Invalid value"),
        "missing or invalid value (strings need quotes; booleans are true or false)",
    ),
    (
        re.compile(r"Expected newline or end of document after a statement"),
        "unexpected text after a value: one key = value per line, strings in quotes",
    ),
)


def explain_toml_error(message: str) -> str:
    """tomllib's terse reason ("Unclosed array") as advice; unknown ones pass through."""
    for pattern, text in _EXPLAINED:
        match = pattern.fullmatch(message)
        if match:
            if match.groups():
                try:
                    keys = ast.literal_eval(f"({match.group(1)})")
                except (ValueError, SyntaxError):
                    return message
                return text.format(".".join(str(key) for key in keys))
            return text
    return message[:1].lower() + message[1:]


_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b"}


def _unescape(text: str) -> str:
    """The value of a TOML basic string's body (escapes resolved, other text untouched)."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        if code:
            return chr(int(code, 16))
        return _SIMPLE_ESCAPES.get(match.group(3), match.group(3))

    return _ESCAPE.sub(one, text)


class TomlLocator:
    """Line numbers (1-based) of key paths in one TOML document."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self._lines: dict[PathKey, int] = {}
        self._aot: dict[PathKey, int] = {}
        try:
            self._scan()
        except (IndexError, ValueError):
            # The scanner only runs on text tomllib accepted; a surprise here must never
            # hide the real error, so whatever was recorded so far is kept.
            pass

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, or of its nearest known ancestor."""
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return None

    # -- scanning ---------------------------------------------------------------------

    def _line_at(self, index: int) -> int:
        return bisect.bisect_left(self._newlines, index) + 1

    def _record(self, path: PathKey, index: int) -> None:
        self._lines.setdefault(path, self._line_at(index))

    def _record_all(self, path: PathKey, index: int) -> None:
        """A header also marks its parents (`[params.x]` is where `params` first appears)."""
        for depth in range(1, len(path) + 1):
            self._record(path[:depth], index)

    def _skip_space(self, i: int, newlines: bool) -> int:
        text = self._text
        while i < len(text):
            ch = text[i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                i += 1
            elif ch == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
            else:
                break
        return i

    def _scan(self) -> None:
        text = self._text
        current: PathKey = ()
        i = 0
        while True:
            i = self._skip_space(i, newlines=True)
            if i >= len(text):
                return
            start = i
            if text.startswith("[[", i):
                keys, i = self._parse_key(i + 2)
                i = text.index("]]", i) + 2
                base = (*self._resolve(keys[:-1]), keys[-1])
                count = self._aot.get(base, 0)
                self._aot[base] = count + 1
                current = (*base, count)
                self._record_all(current, start)
            elif text[i] == "[":
                keys, i = self._parse_key(i + 1)
                i = text.index("]", i) + 1
                current = self._resolve(keys)
                self._record_all(current, start)
            else:
                keys, i = self._parse_key(i)
                full = current + tuple(keys)
                for depth in range(len(current) + 1, len(full) + 1):
                    self._record(full[:depth], start)
                i = self._skip_space(i, newlines=False)
                if i < len(text) and text[i] == "=":
                    i += 1
                i = self._parse_value(i, full)
            while i < len(text) and text[i] != "\n":
                if text[i] == "#":
                    while i < len(text) and text[i] != "\n":
                        i += 1
                    break
                i += 1

    def _resolve(self, keys: list[str]) -> PathKey:
        """Map a header's dotted keys to a path, stepping into the last array-of-tables entry."""
        resolved: list[str | int] = []
        for key in keys:
            resolved.append(key)
            count = self._aot.get(tuple(resolved))
            if count:
                resolved.append(count - 1)
        return tuple(resolved)

    def _parse_key(self, i: int) -> tuple[list[str], int]:
        text = self._text
        keys: list[str] = []
        while True:
            i = self._skip_space(i, newlines=False)
            ch = text[i]
            if ch == '"':
                end = i + 1
                while text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                keys.append(_unescape(text[i + 1 : end]))
                i = end + 1
            elif ch == "'":
                end = text.index("'", i + 1)
                keys.append(text[i + 1 : end])
                i = end + 1
            else:
                match = _BARE.match(text, i)
                if not match:
                    raise ValueError("not a key")
                keys.append(match.group(0))
                i = match.end()
            i = self._skip_space(i, newlines=False)
            if i < len(text) and text[i] == ".":
                i += 1
                continue
            return keys, i

    def _parse_value(self, i: int, path: PathKey) -> int:
        text = self._text
        i = self._skip_space(i, newlines=False)
        if text.startswith('"""', i) or text.startswith("'''", i):
            quote = text[i : i + 3]
            j = i + 3
            while True:
                if quote == '"""' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    j += 3
                    while j < len(text) and text[j] == quote[0]:
                        j += 1
                    return j
                j += 1
        if text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            return j + 1
        if text[i] == "'":
            return text.index("'", i + 1) + 1
        if text[i] == "[":
            i += 1
            index = 0
            while True:
                i = self._skip_space(i, newlines=True)
                if text[i] == "]":
                    return i + 1
                self._record((*path, index), i)
                i = self._parse_value(i, (*path, index))
                i = self._skip_space(i, newlines=True)
                if text[i] == ",":
                    i += 1
                    index += 1
        if text[i] == "{":
            i += 1
            while True:
                i = self._skip_space(i, newlines=False)
                if text[i] == "}":
                    return i + 1
                start = i
                keys, i = self._parse_key(i)
                full = path + tuple(keys)
                for depth in range(len(path) + 1, len(full) + 1):
                    self._record(full[:depth], start)
                i = self._skip_space(i, newlines=False)
                i += 1  # "="
                i = self._parse_value(i, full)
                i = self._skip_space(i, newlines=False)
                if text[i] == ",":
                    i += 1
        j = i
        while j < len(text) and text[j] not in ",]}\n#":
            j += 1
        return j
