"""A `files` task whose `[output]` says how to write (a `format` other than its files', or
delimiter, quote, encoding, headers, line_end, append) converts each file: read as its
extension says (steps.readers), written by the output writers (steps.formats) block by
block. A file already in the asked format with no options set is kept as it is."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from duftui.definitions.conversion import READABLE, WRITE_OPTIONS, readable_format
from duftui.definitions.models import Output
from duftui.steps.formats import EXTENSIONS
from duftui.steps.output import target_path, write_rows
from duftui.steps.readers import Block, open_reader
from duftui.steps.report import Reporter, human_size

NESTED_AS_TEXT = {"csv", "tsv", "psv", "txt", "xlsx", "parquet"}


def needs_converting(path: Path, output: Output) -> bool:
    """True when `path` must be rewritten to follow `output`."""
    if readable_format(path.name) != output.format:
        return True
    return any(name in output.model_fields_set for name in WRITE_OPTIONS if name != "format")


def convert_files(
    files: list[Path],
    output: Output,
    at: datetime,
    folder: Path,
    reporter: Reporter,
    params: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Each file converted into the run's folder (its sub-folder under `source/` kept);
    `[output] name` names the result when there is one file."""
    from duftui.steps.errors import StepError
    from duftui.steps.output import rename_files

    if all(readable_format(p.name) for p in files) and not any(
        needs_converting(p, output) for p in files
    ):
        return rename_files(files, output, at, folder, reporter, params)
    extension = EXTENSIONS[output.format]
    targets: dict[Path, Path] = {}
    for path in files:
        if readable_format(path.name) is None:
            raise StepError(
                f"output: cannot convert {path.name} to {output.format}: duftui reads "
                f"{', '.join(READABLE)} files (told by their extension); remove the "
                "[output] format and options to deliver files as they are"
            )
        if "name" in output.model_fields_set and len(files) == 1:
            target = target_path(output.name, at, folder, extension, params)
        else:
            target = folder / _relative(path, folder).with_suffix(f".{extension}")
        if target in targets.values():
            other = next(p for p, t in targets.items() if t == target)
            raise StepError(
                f"output: {other.name} and {path.name} would both become {target.name}; "
                "rename one of them at the source"
            )
        targets[path] = target
    converted = []
    for path, target in targets.items():
        if not needs_converting(path, output):
            converted.append(path)
            continue
        converted.append(convert_file(path, target, output, reporter))
    return converted


def convert_file(source: Path, target: Path, output: Output, reporter: Reporter) -> Path:
    """Stream one file into another format; returns the written file."""
    fmt = readable_format(source.name)
    assert fmt is not None
    if target.resolve() == source.resolve():
        output = output.model_copy(update={"overwrite": True})  # rewritten in place
    reader = open_reader(source, fmt)
    try:
        rows = write_rows(target, output, reader.columns, _blocks(reader.blocks(), output.format))
    finally:
        reader.close()
    reporter.output(target, "output")
    reporter.info(
        f"output: converted {source.name} ({fmt}) to {target.name} ({output.format}): "
        f"{rows:,} rows, {human_size(target.stat().st_size)}"
    )
    return target


def _blocks(blocks: Iterator[Block], fmt: str) -> Iterator[Block]:
    """JSON objects and lists inside values become JSON text where the format has no
    nesting (a CSV cell holds `{"a": 1}`, not Python's `{'a': 1}`)."""
    if fmt not in NESTED_AS_TEXT:
        yield from blocks
        return
    for block in blocks:
        yield [
            [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in row]
            for row in block
        ]


def _relative(path: Path, folder: Path) -> Path:
    for base in (folder / "source", folder):
        if path.is_relative_to(base):
            return path.relative_to(base)
    return Path(path.name)
