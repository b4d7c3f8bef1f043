"""When a `files` task converts its files (`[output] format` differs from theirs), and the
one conversion `validate` can refuse before any run: source files whose extension names
no format duftui reads (`path = "in/*.pdf"` with `format = "psv"`)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duftui.definitions.models import Output, Task

READABLE = ("csv", "tsv", "psv", "txt", "json", "jsonl", "xlsx", "parquet")
ALIASES = {"ndjson": "jsonl"}
WRITE_OPTIONS = ("format", "delimiter", "quote", "encoding", "headers", "line_end", "append")
_PATTERN_CHARS = set("*?[]{}%")


def readable_format(name: str) -> str | None:
    """The format a file is read as, from its extension; None when duftui cannot read it."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    suffix = ALIASES.get(suffix, suffix)
    return suffix if suffix in READABLE else None


def asks_conversion(output: Output) -> bool:
    """A files task converts only when its `[output]` says how to write (format or options);
    `[output]` with just md5, zip or a name keeps the files as they are."""
    return any(name in output.model_fields_set for name in WRITE_OPTIONS)


def conversion_problems(task: Task) -> list[tuple[tuple[str | int, ...], str]]:
    """(field path, message) for a conversion that can never work."""
    output, source = task.output, task.source
    if task.run.kind != "files" or output is None or source is None or not source.path:
        return []
    if task.processing is not None or not asks_conversion(output):
        return []  # a processing script may hand over any kind of file
    suffix = PurePosixPath(source.path).suffix.lower().lstrip(".")
    if not suffix or _PATTERN_CHARS & set(suffix) or readable_format(source.path):
        return []  # known, or only known per file at run time
    where = ("output", "format") if "format" in output.model_fields_set else ("output",)
    return [
        (
            where,
            f"cannot convert the source files (*.{suffix}) to {output.format}: duftui reads "
            f"{', '.join(READABLE)}; remove the [output] format and options to deliver "
            "them as they are",
        )
    ]
