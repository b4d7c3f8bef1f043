"""TomlLocator: the line of any key path, on TOML that trips up a naive line scanner."""

from __future__ import annotations

import tomllib

import pytest

from duftui.definitions.locate import TomlLocator, explain_toml_error, split_toml_error

TRICKY = '''\
# A comment with [brackets] and key = "value" in it
name = "Tricky" # trailing [comment]
description = """
[not.a.table]
fake = "key"
still inside ] = [
"""
literal = \'\'\'
[[not.an.array]]
x = 1\'\'\'
"quoted key" = 1
"dotted.in.quotes" = 2
'single quoted' = 3
"caf\\u00e9" = 4
site.owner.name = "ops"   # dotted keys
inline = { a = 1, b = { c = "}", d = [1, 2] }, e = "x" }
array = [
  "one",   # comment, with a comma
  "two]",
  [3, 4],
]

[run]
kind = "python"
env = { TZ = "UTC", "WITH.DOT" = "y" }

[params.start_date]
default = "parse(%Y-%m-%d-1)"

[[schedule]]
cron = "0 6 * * *"

[[schedule]]
every = "15m"

[schedule.cron_table]
hour = 6

[[schedule.window]]
from = "08:00"

[[schedule.window]]
from = "18:00"

[[schedule]]
at = 2026-12-01T06:00:00
"naïve" = 5
'''

EXPECTED_LINES = [
    (("name",), 2),
    (("description",), 3),
    (("literal",), 8),
    (("quoted key",), 11),
    (("dotted.in.quotes",), 12),
    (("single quoted",), 13),
    (("café",), 14),
    (("site",), 15),
    (("site", "owner", "name"), 15),
    (("inline",), 16),
    (("inline", "b", "c"), 16),
    (("inline", "b", "d", 1), 16),
    (("inline", "e"), 16),
    (("array",), 17),
    (("array", 0), 18),
    (("array", 1), 19),
    (("array", 2), 20),
    (("array", 2, 1), 20),
    (("run",), 23),
    (("run", "kind"), 24),
    (("run", "env", "WITH.DOT"), 25),
    (("params",), 27),
    (("params", "start_date"), 27),
    (("params", "start_date", "default"), 28),
    (("schedule",), 30),
    (("schedule", 0), 30),
    (("schedule", 0, "cron"), 31),
    (("schedule", 1), 33),
    (("schedule", 1, "every"), 34),
    (("schedule", 1, "cron_table"), 36),
    (("schedule", 1, "cron_table", "hour"), 37),
    (("schedule", 1, "window", 0), 39),
    (("schedule", 1, "window", 0, "from"), 40),
    (("schedule", 1, "window", 1), 42),
    (("schedule", 1, "window", 1, "from"), 43),
    (("schedule", 2), 45),
    (("schedule", 2, "at"), 46),
    (("schedule", 2, "naïve"), 47),
]


def test_tricky_document_is_valid_toml() -> None:
    data = tomllib.loads(TRICKY)
    assert data["description"].startswith("[not.a.table]")
    assert data["schedule"][1]["window"][1]["from"] == "18:00"
    assert "not" not in data


@pytest.mark.parametrize(("path", "line"), EXPECTED_LINES, ids=[str(p) for p, _ in EXPECTED_LINES])
def test_line_of_each_path(path: tuple[str | int, ...], line: int) -> None:
    assert TomlLocator(TRICKY).line_of(path) == line


@pytest.mark.parametrize(("path", "line"), EXPECTED_LINES, ids=[str(p) for p, _ in EXPECTED_LINES])
def test_crlf_line_endings_give_the_same_lines(path: tuple[str | int, ...], line: int) -> None:
    text = TRICKY.replace("\n", "\r\n")
    assert tomllib.loads(text)["run"]["kind"] == "python"
    assert TomlLocator(text).line_of(path) == line


def test_unknown_path_falls_back_to_nearest_known_ancestor() -> None:
    locator = TomlLocator(TRICKY)
    assert locator.line_of(("schedule", 1, "missing_field")) == 33
    assert locator.line_of(("run", "file")) == 23
    assert locator.line_of(("nowhere",)) is None
    assert locator.line_of(()) is None


def test_first_definition_wins_for_a_table_named_by_a_later_header() -> None:
    text = "a.b = 1\n\n[c]\nd = 2\n\n[c.e]\nf = 3\n"
    locator = TomlLocator(text)
    assert locator.line_of(("a",)) == 1
    assert locator.line_of(("c",)) == 3
    assert locator.line_of(("c", "e", "f")) == 7


def test_header_marks_its_parent_tables() -> None:
    text = 'name = "x"\n\n[params.start-date]\ndefault = 1\n'
    assert TomlLocator(text).line_of(("params",)) == 3


def test_scanner_never_raises_on_strange_text() -> None:
    locator = TomlLocator('a = 1\n[[unterminated\n"open = \n')
    assert locator.line_of(("a",)) == 1


def test_split_toml_error_takes_the_line() -> None:
    assert split_toml_error("Invalid value (at line 3, column 5)", "") == (3, "Invalid value")
    text = 'a = 1\nb = "x'
    assert split_toml_error("Unclosed string (at end of document)", text) == (
        2,
        "Unclosed string",
    )
    assert split_toml_error("Something else", text) == (None, "Something else")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('a = "x\n', 1, "a string is not closed before the end of the line"),
        ("a = 1\na = 2\n", 2, "a key or table is defined twice"),
        ("[r]\nx = 1\n[r]\n", 3, "table [r] is declared twice"),
        ('a = ["x" "y"]\n', 1, "an array is not closed: a ',' between items or the ']' is missing"),
        ("a =\n", 1, "missing or invalid value (strings need quotes; booleans are true or false)"),
        (
            "a = 1 b\n",
            1,
            "unexpected text after a value: one key = value per line, strings in quotes",
        ),
        (
            "a = {x = 1\n}\n",
            1,
            "an inline table is not closed: it must end with '}' on the same line",
        ),
        ('a = """x\n', 1, "a multi-line string is not closed"),
        ("= 1\n", 1, "invalid statement"),
    ],
)
def test_toml_errors_are_explained(text: str, line: int, message: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads(text)
    found_line, reason = split_toml_error(str(caught.value), text)
    assert (found_line, explain_toml_error(reason)) == (line, message)
