"""Row readers for the files a `files` task converts: delimited text, txt, json, jsonl,
xlsx and parquet, each streamed in blocks (a JSON array too: objects are decoded one by
one from a sliding buffer), so memory holds one block, never the file.

The first row of a delimited file or sheet is its header; a JSON object's keys are the
columns (every object must use the first one's keys or a subset of them).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from duftui.steps.errors import StepError
from duftui.steps.formats import DELIMITERS

BLOCK_ROWS = 5000
CHUNK_CHARS = 1 << 16
Block = list[list[Any]]


class RowReader:
    """Columns first (`columns`), then `blocks()`; `close()` releases the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = []

    def blocks(self) -> Iterator[Block]:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release by default."""

    def fail(self, where: str, what: str) -> StepError:
        return StepError(f"output: cannot convert {self.path.name}: {where}: {what}")


class _Text(RowReader):
    """A text file read as UTF-8 (a BOM is dropped); a bad byte names its line."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.handle: IO[str] = open(  # noqa: SIM115 - closed in close()
            path, encoding="utf-8-sig", newline=""
        )

    def close(self) -> None:
        self.handle.close()

    def decode_error(self, exc: UnicodeDecodeError) -> StepError:
        """Text is decoded in chunks, so the line is found again in the raw bytes."""
        bad = exc.object[exc.start : exc.start + 1]
        with open(self.path, "rb") as raw:
            for number, line in enumerate(raw, 1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as found:
                    bad = line[found.start : found.start + 1]
                    return self.fail(
                        f"line {number}", f"byte {bad!r} is not UTF-8; save the file as UTF-8"
                    )
        return self.fail("the file", f"byte {bad!r} is not UTF-8; save the file as UTF-8")


class DelimitedReader(_Text):
    """csv, tsv, psv (quoted fields, CR/LF inside them kept); txt: tabs, no quoting."""

    def __init__(self, path: Path, fmt: str) -> None:
        super().__init__(path)
        options: dict[str, Any] = {"delimiter": DELIMITERS[fmt]}
        if fmt == "txt":
            options["quoting"] = csv.QUOTE_NONE
        self.reader = csv.reader(self.handle, strict=True, **options)
        try:
            self.columns = next(self.reader, [])
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc) from None
        except csv.Error as exc:
            raise self.fail("line 1", str(exc)) from None

    def blocks(self) -> Iterator[Block]:
        width, block = len(self.columns), []
        try:
            for row in self.reader:
                if len(row) != width:
                    if not row:
                        continue  # a blank line
                    raise self.fail(
                        f"line {self.reader.line_num}",
                        f"{len(row)} fields where the header has {width}",
                    )
                block.append(row)
                if len(block) >= BLOCK_ROWS:
                    yield block
                    block = []
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc) from None
        except csv.Error as exc:
            raise self.fail(f"line {self.reader.line_num}", str(exc)) from None
        if block:
            yield block


class _Objects(_Text):
    """JSON objects to rows: the first object's keys are the columns."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.objects = self.read_objects()
        self.first = next(self.objects, None)
        self.columns = list(self.first) if self.first is not None else []

    def read_objects(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def blocks(self) -> Iterator[Block]:
        if self.first is None:
            return
        known, block = set(self.columns), [list(self.first.values())]
        for index, item in enumerate(self.objects, 2):
            extra = [key for key in item if key not in known]
            if extra:
                raise self.fail(
                    f"object {index}",
                    f"key {extra[0]!r} is not among the first object's keys "
                    f"({', '.join(self.columns)}); every object needs those keys or fewer",
                )
            block.append([item.get(key) for key in self.columns])
            if len(block) >= BLOCK_ROWS:
                yield block
                block = []
        if block:
            yield block

    def check(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {type(value).__name__}")
        return value


class JsonLinesReader(_Objects):
    def read_objects(self) -> Iterator[dict[str, Any]]:
        try:
            for number, text in enumerate(self.handle, 1):
                if text.strip():
                    try:
                        value = json.loads(text)
                    except ValueError as exc:
                        raise self.fail(f"line {number}", f"not JSON ({exc})") from None
                    yield self.check(value, f"line {number}")
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc) from None


class JsonArrayReader(_Objects):
    """`[{…}, {…}]` decoded object by object from a sliding buffer."""

    def read_objects(self) -> Iterator[dict[str, Any]]:
        decoder = json.JSONDecoder()
        buffer, pos, done, count = "", 0, False, 0

        def fill() -> None:
            nonlocal buffer, pos, done
            try:
                chunk = self.handle.read(CHUNK_CHARS)
            except UnicodeDecodeError as exc:
                raise self.decode_error(exc) from None
            done = not chunk
            buffer, pos = buffer[pos:] + chunk, 0

        def next_char() -> str:
            nonlocal pos
            while True:
                while pos < len(buffer) and buffer[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buffer) or done:
                    return buffer[pos] if pos < len(buffer) else ""
                fill()

        fill()
        if next_char() != "[":
            raise self.fail("the start", "expected a JSON array of objects ([{…}, …])")
        pos += 1
        if next_char() == "]":
            return
        while True:
            count += 1
            try:
                value, end = decoder.raw_decode(buffer, pos)
            except ValueError as exc:
                if done:
                    reason = getattr(exc, "msg", str(exc))
                    raise self.fail(f"object {count}", f"not JSON ({reason})") from None
                fill()
                count -= 1
                continue
            pos = end
            yield self.check(value, f"item {count}")
            char = next_char()
            if char == "]":
                return
            if char != ",":
                raise self.fail(f"after object {count}", "expected ',' or ']'")
            pos += 1
            next_char()


class XlsxReader(RowReader):
    """The first sheet, through openpyxl's read-only mode (rows are streamed)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        try:
            from openpyxl import load_workbook
        except ImportError:
            raise StepError("output: reading xlsx needs openpyxl: pip install 'duftui[xlsx]'") from None
        try:
            self.book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zip, XML and key errors alike
            raise self.fail("the workbook", f"not a readable xlsx file ({exc})") from None
        self.rows = self.book.worksheets[0].iter_rows(values_only=True)
        header = next(self.rows, ())
        self.columns = ["" if v is None else str(v) for v in header]

    def blocks(self) -> Iterator[Block]:
        width, block = len(self.columns), []
        for row in self.rows:
            values = list(row[:width]) + [None] * (width - len(row))
            block.append(values)
            if len(block) >= BLOCK_ROWS:
                yield block
                block = []
        if block:
            yield block

    def close(self) -> None:
        self.book.close()


class ParquetReader(RowReader):
    """Record batches through pyarrow (an extra)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise StepError(
                "output: reading parquet needs pyarrow: pip install 'duftui[parquet]'"
            ) from None
        try:
            self.file = pq.ParquetFile(str(path))
        except Exception as exc:  # pyarrow's errors have no common base besides Exception
            raise self.fail("the file", f"not a readable parquet file ({exc})") from None
        self.columns = list(self.file.schema_arrow.names)

    def blocks(self) -> Iterator[Block]:
        for batch in self.file.iter_batches(batch_size=BLOCK_ROWS):
            columns = [column.to_pylist() for column in batch.columns]
            yield [list(row) for row in zip(*columns, strict=True)]

    def close(self) -> None:
        self.file.close()


def open_reader(path: Path, fmt: str) -> RowReader:
    """A reader for `path` in format `fmt` (one of definitions.conversion.READABLE)."""
    try:
        if fmt in ("json", "jsonl"):
            return JsonArrayReader(path) if fmt == "json" else JsonLinesReader(path)
        if fmt == "xlsx":
            return XlsxReader(path)
        if fmt == "parquet":
            return ParquetReader(path)
        return DelimitedReader(path, fmt)
    except OSError as exc:
        raise StepError(f"output: cannot read {path.name}: {exc.strerror or exc}") from None


