"""Turning a child's byte stream into log lines.

Bytes are split on newlines as they arrive (a partial last line is kept until more comes
or the stream ends), decoded as UTF-8 with replacement (bad bytes never crash a run), and
a line longer than MAX_LINE is cut with a visible marker. Work is done per read block,
not per line: decoding, splitting and level detection run over the whole block in C.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from duftui.store.states import Level
from duftui.task import MARKER

MAX_LINE = 1 << 20
CUT_MARKER = " …[line cut: longer than 1 MiB]"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_LEVEL = re.compile(
    r"^(?:[\w:.,\-/+]+[ T]){0,3}?\[?(DEBUG|INFO|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL)\b"
    r"|^(Traceback) \(most recent call last\):",
    re.MULTILINE,
)
_LEVEL_OF = {"DEBUG": Level.DEBUG, "INFO": Level.INFO, "WARN": Level.WARNING,
             "WARNING": Level.WARNING, "ERROR": Level.ERROR, "ERR": Level.ERROR,
             "CRITICAL": Level.CRITICAL, "FATAL": Level.CRITICAL, "Traceback": Level.ERROR}


def strip_ansi(text: str) -> str:
    """The line without colour and cursor codes (stored lines keep them)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


class LineSplitter:
    """Accumulates bytes and hands out complete, decoded lines."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._dropping = False

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        if self._dropping:
            newline = data.find(b"\n")
            if newline < 0:
                return out
            data = data[newline + 1:]
            self._dropping = False
        self._buffer += data
        end = self._buffer.rfind(b"\n")
        if end < 0:
            if len(self._buffer) > MAX_LINE:
                out.append(_decode(bytes(self._buffer[:MAX_LINE])) + CUT_MARKER)
                self._buffer.clear()
                self._dropping = True
            return out
        block = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        out.extend(_split(block))
        if len(self._buffer) > MAX_LINE:
            out.append(_decode(bytes(self._buffer[:MAX_LINE])) + CUT_MARKER)
            self._buffer.clear()
            self._dropping = True
        return out

    def finish(self) -> list[str]:
        """The partial last line, if any (a stream that ended without a newline)."""
        if not self._buffer:
            return []
        rest = _decode(bytes(self._buffer))
        self._buffer.clear()
        return [rest.removesuffix("\r")]


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _split(block: bytes) -> list[str]:
    text = _decode(block)
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    if len(block) > MAX_LINE:
        lines = [line if len(line) <= MAX_LINE else line[:MAX_LINE] + CUT_MARKER
                 for line in lines]
    return lines


def detect_levels(lines: list[str], default: int = Level.INFO) -> list[int]:
    """A level for every line: one of the usual level words near its start, else default."""
    found = classify(lines, default)[0]
    return found if found is not None else [default] * len(lines)


_WORDS = ("DEBUG", "INFO", "WARN", "ERR", "CRITICAL", "FATAL", "Traceback")


def classify(lines: list[str], default: int = Level.INFO) -> tuple[list[int] | None, bool]:
    """(levels, has_marker) for a block of lines, scanning the block's text once.

    levels is None when no line carries a level word (all lines get `default`), which is
    the common case for a flood and costs no per-line work.
    """
    if not lines:
        return None, False
    text = "\n".join(lines)
    has_marker = MARKER[0] in text
    if not any(word in text for word in _WORDS):
        return None, has_marker
    levels = [default] * len(lines)
    index, position = 0, 0
    for match in _LEVEL.finditer(text):
        index += text.count("\n", position, match.start())
        position = match.start()
        levels[index] = _LEVEL_OF[match.group(1) or match.group(2)]
    return levels, has_marker


@dataclass(frozen=True)
class Structured:
    """A structured message from a task (see duftui.task)."""

    kind: str
    data: dict[str, Any]


def parse_marker(line: str) -> Structured | None:
    """The structured message in a marker line, or None for a plain line."""
    if not line.startswith(MARKER):
        return None
    try:
        data = json.loads(line[len(MARKER):])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    return Structured(data["type"], data)


def level_of_name(name: object) -> int:
    try:
        return Level.parse(str(name))
    except ValueError:
        return Level.INFO
