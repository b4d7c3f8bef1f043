"""A `files` task whose `[output] format` differs from its files converts them (CSV ↔
TSV/PSV/JSON/JSONL/XLSX/Parquet) with the output options, streamed, and `validate`
refuses what cannot be converted."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from duftui.definitions.models import Output
from duftui.steps.convert import convert_file
from duftui.steps.errors import StepError
from duftui.steps.report import Reporter
from duftui.store.states import RunStatus
from tests.conftest import Cli
from tests.steps.conftest import StepWorkspace

HEADER = ["id", "name", "note"]
ROWS = [
    ["1", "comma, inside", 'quote " inside'],
    ["2", "cr\r\nlf inside", "Zürich Süd 日本語"],
    ["3", "", " leading space"],
    ["4", "pipe | and\ttab", "back\\slash"],
]
HAS_PYARROW = True
try:
    import pyarrow  # noqa: F401
except ImportError:
    HAS_PYARROW = False
NEEDS_PYARROW = pytest.mark.skipif(
    not HAS_PYARROW, reason="pyarrow is not installed (pip install 'duftui[parquet]')"
)


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def read_csv(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[list[str]]:
    with open(path, newline="", encoding=encoding) as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def files_task(ws: StepWorkspace, name: str, path: str, output: str) -> str:
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "files"\n[source]\npath = "{path}"\n'
        f"[output]\nmd5 = false\n{output}\n"
        '[[deliver]]\nkind = "local"\npath = "out"\n',
    )


def test_a_files_task_converts_csv_to_psv(sws: StepWorkspace) -> None:
    write_csv(sws.root / "drop" / "visits.csv", ROWS)
    key = files_task(sws, "to-psv", "drop/*.csv", 'format = "psv"')
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    out = sws.root / "out"
    assert sorted(p.name for p in out.iterdir()) == ["visits.psv"]
    assert read_csv(out / "visits.psv", "|") == [HEADER, *ROWS]
    assert "output: converted visits.csv (csv) to visits.psv (psv): 4 rows" in sws.text(run.id)


def test_output_options_apply_to_the_converted_file(sws: StepWorkspace) -> None:
    write_csv(sws.root / "drop" / "a.csv", [["1", "Zürich", "x"]])
    key = files_task(
        sws,
        "options",
        "drop/a.csv",
        'name = "a_%Y.txt"\nformat = "csv"\ndelimiter = ";"\nquote = "all"\n'
        'encoding = "cp1252"\nheaders = false\nline_end = "\\r\\n"',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    [written] = (sws.root / "out").iterdir()
    assert written.name.startswith("a_") and written.suffix == ".txt"
    assert written.read_bytes() == '"1";"Zürich";"x"\r\n'.encode("cp1252")


@pytest.mark.parametrize(
    "fmt", ["tsv", "psv", "txt", "json", "jsonl", "xlsx", pytest.param("parquet", marks=NEEDS_PYARROW)]
)
def test_csv_round_trips_through_every_format(tmp_path: Path, fmt: str) -> None:
    rows = ROWS if fmt != "txt" else [[v.replace("\t", " ").replace("\r\n", " ") for v in r]
                                      for r in ROWS]  # txt has no quoting
    source = write_csv(tmp_path / "in.csv", rows)
    middle = convert_file(source, tmp_path / f"mid.{fmt}", Output(format=fmt), Reporter())
    back = convert_file(middle, tmp_path / "back.csv", Output(format="csv"), Reporter())
    assert read_csv(back) == [HEADER, *rows]
    if fmt == "json":
        assert json.loads(middle.read_text(encoding="utf-8"))[1]["name"] == "cr\r\nlf inside"


def test_json_values_and_nesting_reach_csv_as_json_text(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(
        json.dumps([{"a": 1, "b": {"x": [1, 2]}, "c": None}, {"a": 2.5, "b": "s"}]),
        encoding="utf-8",
    )
    target = convert_file(source, tmp_path / "out.csv", Output(format="csv"), Reporter())
    assert read_csv(target) == [["a", "b", "c"], ["1", '{"x": [1, 2]}', ""], ["2.5", "s", ""]]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ragged.csv", "a,b\n1,2\n1,2,3\n",
         "output: cannot convert ragged.csv: line 3: 3 fields where the header has 2"),
        ("latin.csv", b"a\nok\n" + b"caf\xe9\n",
         "output: cannot convert latin.csv: line 3: byte b'\\xe9' is not UTF-8; "
         "save the file as UTF-8"),
        ("keys.jsonl", '{"a": 1}\n{"a": 2, "zz": 3}\n',
         "output: cannot convert keys.jsonl: object 2: key 'zz' is not among the first "
         "object's keys (a); every object needs those keys or fewer"),
        ("scalar.json", "[1, 2]", "output: cannot convert scalar.json: item 1: expected an "
         "object, found int"),
        ("broken.json", '[{"a": 1}, {"a": ', "output: cannot convert broken.json: object 2: "
         "not JSON (Expecting value)"),
        ("object.json", '{"a": 1}', "output: cannot convert object.json: the start: expected "
         "a JSON array of objects ([{…}, …])"),
        ("fake.xlsx", "not a zip", "output: cannot convert fake.xlsx: the workbook: not a "
         "readable xlsx file (File is not a zip file)"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_clear_error(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    source = tmp_path / name
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, encoding="utf-8")
    target = tmp_path / "out.psv"
    with pytest.raises(StepError) as caught:
        convert_file(source, target, Output(format="psv"), Reporter())
    assert str(caught.value) == message
    assert not target.exists() and not (tmp_path / ".out.psv.part").exists()


def test_a_file_in_an_unknown_format_fails_the_run_clearly(sws: StepWorkspace) -> None:
    (sws.root / "drop").mkdir()
    (sws.root / "drop" / "scan.dat").write_bytes(b"\x00\x01")
    run = sws.run(files_task(sws, "unknown", "drop/*", 'format = "psv"'))
    assert run.status == RunStatus.FAILED
    assert (run.error or "").startswith(
        "output: cannot convert scan.dat to psv: duftui reads csv, tsv, psv, txt, json, "
        "jsonl, xlsx, parquet files (told by their extension); remove the [output] format "
        "and options to deliver files as they are"
    )
    assert not (sws.root / "out").exists()


def test_validate_refuses_a_conversion_that_cannot_work(sws: StepWorkspace) -> None:
    files_task(sws, "pdfs", "drop/*.pdf", 'format = "psv"')
    result = Cli(sws.root)("validate")
    assert result.exit_code == 1
    assert (
        "tasks/p/pdfs.toml:8: output.format: cannot convert the source files (*.pdf) to psv: "
        "duftui reads csv, tsv, psv, txt, json, jsonl, xlsx, parquet; remove the [output] "
        "format and options to deliver them as they are" in result.output
    )
    # md5 or zip alone never converts: any file type is fine.
    sws.task("pdfs", (sws.root / "tasks/p/pdfs.toml").read_text().replace('format = "psv"', ""))
    assert Cli(sws.root)("validate").exit_code == 0


def _big_file(path: Path, rows: int) -> Path:
    """A CSV, JSON array or JSON Lines file of `rows` rows, written without duftui."""
    records = ([i, f"name {i}, with a comma", "x" * 30] for i in range(rows))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if path.suffix == ".csv":
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(records)
        else:
            sep = "\n" if path.suffix == ".jsonl" else ",\n"
            handle.write("[" if path.suffix == ".json" else "")
            handle.write(sep.join(json.dumps(dict(zip(HEADER, r, strict=True))) for r in records))
            handle.write("]" if path.suffix == ".json" else "\n")
    return path


def _peak(source: Path, target: Path) -> int:
    tracemalloc.start()
    try:
        convert_file(source, target, Output(format=target.suffix[1:]), Reporter())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("source", "target"), [("csv", "jsonl"), ("jsonl", "csv"), ("json", "csv")])
def test_conversion_memory_stays_flat(tmp_path: Path, source: str, target: str) -> None:
    """Four times the rows, about the same peak: blocks are streamed, not the file."""
    small = _peak(_big_file(tmp_path / f"small.{source}", 10_000), tmp_path / f"s.{target}")
    large_file = _big_file(tmp_path / f"large.{source}", 40_000)
    large = _peak(large_file, tmp_path / f"l.{target}")
    assert large < small * 1.3 + 256 * 1024, f"peak {small:,} → {large:,} bytes"


@NEEDS_PYARROW
def test_parquet_keeps_types_on_its_way_to_jsonl(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"n": [1, None], "s": ["a\r\nb", ""]}), str(source))
    target = convert_file(source, tmp_path / "typed.jsonl", Output(format="jsonl"), Reporter())
    lines = [json.loads(line) for line in io.StringIO(target.read_text(encoding="utf-8"))]
    assert lines == [{"n": 1, "s": "a\r\nb"}, {"n": None, "s": ""}]
