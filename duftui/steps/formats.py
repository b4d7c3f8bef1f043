"""Row writers for the output formats (DESIGN §2 `[output]`): delimited text, txt, json,
jsonl, xlsx and parquet.

Rows arrive in blocks (a SQL fetch), and each writer handles a whole block at once: the
delimited writer formats a block into a string buffer with the csv module, encodes it and
writes bytes — several times faster than a text file written row by row, and an
encoding error can name the row that caused it. Memory holds one block, never the result.
"""

from __future__ import annotations

import base64
import csv
import json
import operator
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import IO, Any

from duftui.definitions.models import Output
from duftui.steps.errors import StepError

DELIMITERS = {"csv": ",", "tsv": "\t", "psv": "|", "txt": "\t"}
EXTENSIONS = {
    "csv": "csv",
    "tsv": "tsv",
    "psv": "psv",
    "txt": "txt",
    "json": "json",
    "jsonl": "jsonl",
    "xlsx": "xlsx",
    "parquet": "parquet",
}
QUOTING = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "none": csv.QUOTE_NONE,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
}
ESCAPE_CHAR = "\\"
XLSX_MAX_ROWS = 1_048_576

Rows = Sequence[Sequence[Any]]


def delimiter_of(output: Output) -> str:
    return output.delimiter or DELIMITERS.get(output.format, ",")


class RowWriter:
    """Base: counts rows; subclasses write the header, blocks and the end of the file."""

    def __init__(self, path: Path, output: Output) -> None:
        self.path = path
        self.output = output
        self.rows = 0
        self.columns: list[str] = []

    def begin(self, columns: list[str]) -> None:
        self.columns = columns

    def write(self, rows: Rows) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file (footer, flush)."""

    def abort(self) -> None:
        """Close without finishing (the caller removes the partial file)."""
        self.close()


class _TextWriter(RowWriter):
    """Writers that produce encoded text through a binary handle."""

    def __init__(self, path: Path, output: Output) -> None:
        super().__init__(path, output)
        self.handle: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.encoding = output.encoding

    def emit(self, text: str, first_row: int) -> None:
        try:
            data = text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            bad = text[exc.start : exc.end]
            row = first_row + text.count("\n", 0, exc.start)
            raise StepError(
                f"output: {bad!r} cannot be written in encoding {self.encoding} "
                f"(near row {row}); choose an encoding like utf-8 that can hold it"
            ) from None
        self.handle.write(data)

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()


class _Pieces(list[str]):
    """A csv.writer target that only collects strings (cheaper than a StringIO)."""

    write = list.append


class DelimitedWriter(_TextWriter):
    """csv, tsv, psv or any one-character delimiter; quoting, line ends, appended chars."""

    def __init__(self, path: Path, output: Output) -> None:
        super().__init__(path, output)
        self.buffer = _Pieces()
        quoting = QUOTING[output.quote]
        self.terminator = output.append + output.line_end
        options = {
            "delimiter": delimiter_of(output),
            "quoting": quoting,
            "escapechar": ESCAPE_CHAR if quoting == csv.QUOTE_NONE else None,
        }
        self.writer = csv.writer(self.buffer, lineterminator=self.terminator, **options)
        # The csv module quotes (or escapes) a field only for the characters of *its* line
        # terminator: with "\n" line ends, a value holding "\r" would go out bare and break
        # the file. Blocks with such a value are redone row by row with "\r\n" as the
        # terminator (so both get quoted), which is then swapped for the real one.
        self.risky = [c for c in "\r\n" if c not in self.terminator]
        self.careful = csv.writer(self.buffer, lineterminator="\r\n", **options)
        self.delimiter = options["delimiter"]
        self.quote_empty = quoting == csv.QUOTE_MINIMAL

    def begin(self, columns: list[str]) -> None:
        super().begin(columns)
        if self.output.headers:
            self._write_block([columns])

    def write(self, rows: Rows) -> None:
        self._write_block(rows)
        self.rows += len(rows)

    def _write_block(self, rows: Rows) -> None:
        try:
            self.writer.writerows(rows)
        except csv.Error as exc:
            raise StepError(f"output: cannot write row near {self.rows + 1}: {exc}") from None
        text = self._take()
        if self.quote_empty and any(map(operator.contains, rows, repeat(""))):
            text = "".join(self._row_keeping_empty(row) for row in rows)
        elif self.risky and any(c in text for c in self.risky):
            parts = []
            for row in rows:
                self.careful.writerow(row)
                parts.append(self._take()[:-2] + self.terminator)
            text = "".join(parts)
        self.emit(text, self.rows + 1)

    def _row_keeping_empty(self, row: Sequence[Any]) -> str:
        """One row with empty strings written as `""` and NULL (None) as nothing, so the
        two stay apart (PostgreSQL's CSV does the same); the csv module writes both bare."""
        fields = []
        for value in row:
            if value is None:
                fields.append("")
            else:
                self.careful.writerow([value])  # a lone empty field is quoted
                fields.append(self._take()[:-2])
        return self.delimiter.join(fields) + self.terminator

    def _take(self) -> str:
        text = "".join(self.buffer)
        self.buffer.clear()
        return text


class PlainTextWriter(_TextWriter):
    """txt: values joined by the delimiter (tab by default), no quoting or escaping."""

    def __init__(self, path: Path, output: Output) -> None:
        super().__init__(path, output)
        self.delimiter = delimiter_of(output)
        self.line_end = output.append + output.line_end

    def begin(self, columns: list[str]) -> None:
        super().begin(columns)
        if self.output.headers:
            self.emit(self.delimiter.join(columns) + self.line_end, 0)

    def write(self, rows: Rows) -> None:
        join, end = self.delimiter.join, self.line_end
        text = "".join(join("" if v is None else str(v) for v in row) + end for row in rows)
        self.emit(text, self.rows + 1)
        self.rows += len(rows)


def json_value(value: Any) -> Any:
    """What json.dumps cannot write by itself."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


class JsonWriter(_TextWriter):
    """json: one array of objects; jsonl (`lines=True`): one object per line."""

    def __init__(self, path: Path, output: Output, lines: bool) -> None:
        super().__init__(path, output)
        self.lines = lines
        self.encoder = json.JSONEncoder(ensure_ascii=False, default=json_value)

    def begin(self, columns: list[str]) -> None:
        super().begin(columns)
        if not self.lines:
            self.emit("[", 0)

    def write(self, rows: Rows) -> None:
        if not rows:
            return
        encode, columns = self.encoder.encode, self.columns
        objects = [encode(dict(zip(columns, row, strict=False))) for row in rows]
        end = self.output.append + self.output.line_end
        if self.lines:
            text = end.join(objects) + end
        else:
            text = ("," if self.rows else "") + end + ("," + end).join(objects)
        self.emit(text, self.rows + 1)
        self.rows += len(rows)

    def close(self) -> None:
        if not self.lines and not self.handle.closed:
            self.emit(self.output.line_end + "]" + self.output.line_end, self.rows)
        super().close()

    def abort(self) -> None:
        _TextWriter.close(self)


class XlsxWriter(RowWriter):
    """xlsx through openpyxl's write-only mode (rows are streamed into the sheet)."""

    def __init__(self, path: Path, output: Output) -> None:
        super().__init__(path, output)
        try:
            from openpyxl import Workbook
            from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        except ImportError:
            raise StepError(
                "output: format xlsx needs openpyxl: pip install 'duftui[xlsx]'"
            ) from None
        self.illegal = ILLEGAL_CHARACTERS_RE
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(output.sheet)
        self.carriage_return = False

    def begin(self, columns: list[str]) -> None:
        super().begin(columns)
        if self.output.headers:
            self.sheet.append(columns)

    def _cell(self, value: Any) -> Any:
        if isinstance(value, str):
            if "\r" in value:
                self.carriage_return = True
            return self.illegal.sub("", value) if self.illegal.search(value) else value
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)  # Excel has no time zones: keep wall time
        if isinstance(value, time) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).hex()
        return value

    def write(self, rows: Rows) -> None:
        limit = XLSX_MAX_ROWS - (1 if self.output.headers else 0)
        if self.rows + len(rows) > limit:
            raise StepError(
                f"output: xlsx holds at most {limit:,} rows per sheet; use csv or split the query"
            )
        cell, append = self._cell, self.sheet.append
        for row in rows:
            append([cell(value) for value in row])
        self.rows += len(rows)

    def close(self) -> None:
        self.book.save(self.path)
        if self.carriage_return:
            keep_carriage_returns(self.path)

    def abort(self) -> None:
        """Nothing to close: a write-only workbook writes its file only in save()."""


def keep_carriage_returns(path: Path) -> None:
    """openpyxl writes a CR inside a value as a raw byte, which every XML reader (Excel,
    openpyxl) turns into LF: "a\r\nb" would come back as "a\nb". A character reference
    survives, so the sheets are copied once with each raw CR written as `&#13;` (markup
    never holds a raw CR: ElementTree escapes it in attributes). Streamed, block by block."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".cr", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w") as target:
            for info in source.infolist():
                with source.open(info) as reader, target.open(info, "w") as writer:
                    if info.filename.startswith("xl/worksheets/"):
                        while block := reader.read(1 << 20):
                            writer.write(block.replace(b"\r", b"&#13;"))
                    else:
                        shutil.copyfileobj(reader, writer, 1 << 20)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ParquetWriter(RowWriter):
    """parquet through pyarrow (an extra); the schema comes from the first block."""

    def __init__(self, path: Path, output: Output) -> None:
        super().__init__(path, output)
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise StepError(
                "output: format parquet needs pyarrow: pip install 'duftui[parquet]'"
            ) from None
        self.writer: Any = None

    def write(self, rows: Rows) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows and self.writer is not None:
            return
        columns = {name: [row[i] for row in rows] for i, name in enumerate(self.columns)}
        try:
            if self.writer is None:
                table = pa.table(columns)
                self.writer = pq.ParquetWriter(str(self.path), table.schema)
            else:
                table = pa.table(columns, schema=self.writer.schema)
            self.writer.write_table(table)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StepError(
                f"output: parquet cannot hold rows near {self.rows + 1}: {exc}"
            ) from None
        self.rows += len(rows)

    def close(self) -> None:
        if self.writer is None:
            self.write([])
        if self.writer is not None:
            self.writer.close()


def open_writer(path: Path, output: Output) -> RowWriter:
    """A writer for the output's format, writing to `path` (which it creates)."""
    fmt = output.format
    if fmt == "txt":
        return PlainTextWriter(path, output)
    if fmt in ("json", "jsonl"):
        return JsonWriter(path, output, lines=fmt == "jsonl")
    if fmt == "xlsx":
        return XlsxWriter(path, output)
    if fmt == "parquet":
        return ParquetWriter(path, output)
    return DelimitedWriter(path, output)
