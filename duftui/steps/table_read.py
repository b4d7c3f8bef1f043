"""Rows of a data file, block by block, for loading into a table.

CSV, TSV, PSV and TXT are read with pyarrow's CSV reader when it is installed: it keeps
an empty quoted field (`""`, an empty string) apart from an empty bare one (NULL), as
the SQL step writes them, and it is fast. Without pyarrow the csv module reads them and
every empty field is NULL. JSON lines and JSON arrays come with their own types; parquet
keeps the types of the database it came from. Every block is a list of tuples.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duftui.steps.errors import StepError

DELIMITED = {".csv": ",", ".tsv": "\t", ".psv": "|", ".txt": "\t"}
BLOCK_BYTES = 4 << 20


@dataclass
class RowSource:
    """A file's columns, its blocks of rows, and the arrow schema when pyarrow read it."""

    columns: list[str]
    blocks: Iterator[list[tuple[Any, ...]]]
    arrow_schema: Any = None


def loadable(path: Path) -> bool:
    return path.suffix.lower() in (*DELIMITED, ".jsonl", ".json", ".parquet")


def open_rows(
    path: Path, size: int, delimiter: str | None = None, encoding: str = "utf-8"
) -> RowSource:
    suffix = path.suffix.lower()
    if suffix in DELIMITED:
        return _delimited(path, size, delimiter or DELIMITED[suffix], encoding)
    if suffix == ".jsonl":
        return _json_lines(path, size, encoding)
    if suffix == ".json":
        return _json_array(path, size, encoding)
    if suffix == ".parquet":
        return _parquet(path, size)
    raise StepError(
        f"{path.name} is not a data file a table can load (csv, tsv, psv, txt, jsonl, json "
        "or parquet; a zip or gpg file must be loaded before [output] zips or encrypts it)"
    )


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    with open(path, newline="", encoding=encoding, errors="replace") as handle:
        first = next(csv.reader(handle, delimiter=delimiter), None)
    if not first:
        raise StepError(f"{path.name} has no header line (a table load needs column names)")
    return first


def _delimited(path: Path, size: int, delimiter: str, encoding: str) -> RowSource:
    columns = _header(path, delimiter, encoding)
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return RowSource(columns, _csv_module(path, size, delimiter, encoding))

    def blocks() -> Iterator[list[tuple[Any, ...]]]:
        # opened on the first read: a load that hands the file to COPY never starts it
        try:
            reader = pacsv.open_csv(
                str(path),
                read_options=pacsv.ReadOptions(
                    encoding=encoding, block_size=BLOCK_BYTES, column_names=columns, skip_rows=1
                ),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in columns},
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise StepError(f"cannot read {path.name}: {exc}") from None
        yield from _arrow_blocks(reader, size, path)

    return RowSource(columns, blocks())


def _arrow_blocks(batches: Any, size: int, path: Path) -> Iterator[list[tuple[Any, ...]]]:
    import pyarrow as pa

    pending: list[tuple[Any, ...]] = []
    try:
        for batch in batches:
            values = [column.to_pylist() for column in batch.columns]
            pending.extend(zip(*values, strict=True))
            while len(pending) >= size:
                yield pending[:size]
                del pending[:size]
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise StepError(f"cannot read {path.name}: {exc}") from None
    if pending:
        yield pending


def _csv_module(
    path: Path, size: int, delimiter: str, encoding: str
) -> Iterator[list[tuple[Any, ...]]]:
    with open(path, newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        block: list[tuple[Any, ...]] = []
        for row in reader:
            block.append(tuple(value if value != "" else None for value in row))
            if len(block) >= size:
                yield block
                block = []
        if block:
            yield block


def _json_lines(path: Path, size: int, encoding: str) -> RowSource:
    handle = open(path, encoding=encoding)  # noqa: SIM115 - closed by the generator
    first = handle.readline()
    if not first.strip():
        handle.close()
        return RowSource([], iter(()))
    head = _object(first, path, 1)
    columns = list(head)

    def blocks() -> Iterator[list[tuple[Any, ...]]]:
        with handle:
            block = [tuple(head.get(c) for c in columns)]
            for number, line in enumerate(handle, 2):
                if line.strip():
                    item = _object(line, path, number)
                    block.append(tuple(item.get(c) for c in columns))
                if len(block) >= size:
                    yield block
                    block = []
            if block:
                yield block

    return RowSource(columns, blocks())


def _object(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise StepError(f"{path.name}:{number}: not JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise StepError(f"{path.name}:{number}: expected an object per line")
    return item


def _json_array(path: Path, size: int, encoding: str) -> RowSource:
    try:
        items = json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise StepError(f"{path.name}:{exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise StepError(f"{path.name}: expected an array of objects")
    columns = list(items[0]) if items else []
    rows = [tuple(item.get(c) for c in columns) for item in items]
    return RowSource(columns, iter([rows[i : i + size] for i in range(0, len(rows), size)]))


def _parquet(path: Path, size: int) -> RowSource:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise StepError("loading parquet needs pyarrow: pip install 'duftui[parquet]'") from None
    handle = pq.ParquetFile(str(path))
    schema = handle.schema_arrow
    return RowSource(
        list(schema.names), _arrow_blocks(handle.iter_batches(batch_size=size), size, path), schema
    )
