"""Output formats, written by the real writers and read back with standard parsers."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duftui.definitions.models import Output
from duftui.steps.errors import StepError
from duftui.steps.formats import ESCAPE_CHAR, QUOTING
from duftui.steps.output import write_rows
from tests.conftest import python_env

TRICKY = [
    "plain",
    "comma, inside",
    'quote " inside',
    "new\nline",
    "cr\r\nlf",
    "Zürich Süd",
    "日本語",
    "emoji 😀",
    "tab\tin",
    "pipe | in",
    "semi; colon",
    "back\\slash",
    "",
    " pad ",
]
DELIMITERS = [",", "\t", "|", ";"]
text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)


def write(tmp: Path, rows: list[list], columns: list[str] | None = None, **fields) -> Path:
    path = tmp / f"out.{fields.get('format', 'csv')}"
    path.unlink(missing_ok=True)
    output = Output.model_validate(fields)
    count = write_rows(
        path, output, columns or [f"c{i}" for i in range(len(rows[0]))], [rows[:2], rows[2:]]
    )
    assert count == len(rows)
    return path


def read_back(path: Path, delimiter: str, quote: str) -> list[list[str]]:
    options = {"delimiter": delimiter, "quoting": QUOTING[quote]}
    if quote == "none":
        options["escapechar"] = ESCAPE_CHAR
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, **options))


@pytest.mark.parametrize("quote", ["minimal", "all", "none", "nonnumeric"])
@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_tricky_values_round_trip(tmp_path: Path, delimiter: str, quote: str) -> None:
    rows = [TRICKY[i : i + 3] for i in range(len(TRICKY) - 2)]
    path = write(
        tmp_path,
        rows,
        ["a,b", 'c"d', "é"],
        format="csv",
        delimiter=delimiter,
        quote=quote,
        line_end="\r\n",
    )
    assert read_back(path, delimiter, quote) == [["a,b", 'c"d', "é"], *rows]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(text, min_size=3, max_size=3), min_size=1, max_size=6),
    delimiter=st.sampled_from(DELIMITERS),
    quote=st.sampled_from(["minimal", "all", "none", "nonnumeric"]),
)
def test_any_text_round_trips(
    tmp_path: Path, rows: list[list[str]], delimiter: str, quote: str
) -> None:
    path = write(tmp_path, rows, format="csv", delimiter=delimiter, quote=quote)
    assert read_back(path, delimiter, quote)[1:] == rows


def test_format_defaults_headers_line_ends_and_appended_characters(tmp_path: Path) -> None:
    rows = [[1, "a b", None], [2.5, "c", True]]
    path = write(tmp_path, rows, ["n", "s", "x"], format="tsv")
    assert path.read_bytes() == b"n\ts\tx\n1\ta b\t\n2.5\tc\tTrue\n"
    path = write(
        tmp_path, rows, ["n", "s", "x"], format="psv", headers=False, line_end="\r\n", append=";"
    )
    assert path.read_bytes() == b"1|a b|;\r\n2.5|c|True;\r\n"
    path = write(tmp_path, rows, ["n", "s", "x"], format="csv", delimiter="^", quote="all")
    assert path.read_text() == '"n"^"s"^"x"\n"1"^"a b"^""\n"2.5"^"c"^"True"\n'
    path = write(tmp_path, [["a,b", 'q"', 1]] * 3, ["x", "y", "z"], format="txt")
    assert path.read_text() == "x\ty\tz\n" + 'a,b\tq"\t1\n' * 3


def test_encodings_and_a_character_the_encoding_cannot_hold(tmp_path: Path) -> None:
    path = write(tmp_path, [["Zürich", "ß"], ["a", "b"]], format="csv", encoding="cp1252")
    assert path.read_bytes() == "c0,c1\nZürich,ß\na,b\n".encode("cp1252")
    path = write(tmp_path, [["x", "y"], ["é", "z"]], format="csv", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(StepError) as caught:
        write(tmp_path, [["a", "b"], ["c", "d"], ["ok", "✓ tick"]], format="csv", encoding="cp1252")
    assert "'✓' cannot be written in encoding cp1252 (near row 3)" in str(caught.value)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / ".out.csv.part").exists()


def test_json_and_jsonl(tmp_path: Path) -> None:
    when = datetime(2026, 3, 14, 6, 0, tzinfo=UTC)
    rows = [
        [1, "Zoë", when, Decimal("2.50"), None],
        [2, 'q"', date(2026, 1, 2), Decimal("3"), b"\x00\x01"],
    ]
    columns = ["id", "name", "at", "amount", "blob"]
    path = write(tmp_path, rows, columns, format="json")
    assert json.loads(path.read_text()) == [
        {"id": 1, "name": "Zoë", "at": "2026-03-14T06:00:00+00:00", "amount": 2.5, "blob": None},
        {"id": 2, "name": 'q"', "at": "2026-01-02", "amount": 3, "blob": "AAE="},
    ]
    assert "Zoë" in path.read_text(encoding="utf-8")
    path = write(tmp_path, rows, columns, format="jsonl")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2]
    empty = tmp_path / "empty.json"
    write_rows(empty, Output(format="json"), ["a"], [])
    assert json.loads(empty.read_text()) == []


def test_xlsx_reads_back_with_openpyxl(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    rows = [
        [1, "Zürich\nSüd", datetime(2026, 3, 14, 6, 0, tzinfo=UTC)],
        [2, "bell\x07", None],
        [3, 'a "q"', 2.5],
    ]
    path = write(tmp_path, rows, ["id", "name", "at"], format="xlsx", sheet="visits")
    book = load_workbook(path, read_only=True)
    values = [list(row) for row in book["visits"].iter_rows(values_only=True)]
    assert values == [
        ["id", "name", "at"],
        [1, "Zürich\nSüd", datetime(2026, 3, 14, 6, 0)],
        [2, "bell"],
        [3, 'a "q"', 2.5],
    ]


def test_overwrite_false_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.csv"
    target.write_text("precious")
    with pytest.raises(StepError) as caught:
        write_rows(target, Output(overwrite=False), ["a"], [[["1"]]])
    assert str(caught.value) == (
        f"output: {target} already exists and overwrite = false; remove it or set overwrite = true"
    )
    assert target.read_text() == "precious"
    write_rows(target, Output(), ["a"], [[["1"]]])
    assert target.read_text() == "a\n1\n"


def test_a_failed_write_is_a_clear_error(tmp_path: Path) -> None:
    """A child lowers its own file-size limit, so the write fails for real (as on a full
    disk) and the partial file is removed."""
    full = tmp_path / "full.csv"
    child = subprocess.run(
        [sys.executable, "-c", LIMITED_WRITE, str(full)],
        capture_output=True, text=True, timeout=120, env=python_env(),
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == f"output: cannot write {full}: file too large"
    assert [p.name for p in tmp_path.iterdir() if "full.csv" in p.name] == []


LIMITED_WRITE = """
import resource, signal, sys
from pathlib import Path
from duftui.definitions.models import Output
from duftui.steps.errors import StepError
from duftui.steps.output import write_rows
from tests.conftest import python_env

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, hard))
try:
    write_rows(Path(sys.argv[1]), Output(), ["a"], [[["x" * 100_000]] * 20])
except StepError as exc:
    print(exc)
"""


def test_xlsx_keeps_a_crlf_inside_a_value(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    rows = [[1, "cr\r\nlf", "lone\rcr"], [2, "only\nlf", "plain"]]
    path = write(tmp_path, rows, ["id", "a\r\nb", "c"], format="xlsx")
    for read_only in (True, False):
        book = load_workbook(path, read_only=read_only)
        values = [list(row) for row in book["data"].iter_rows(values_only=True)]
        assert values == [["id", "a\r\nb", "c"], *rows]
