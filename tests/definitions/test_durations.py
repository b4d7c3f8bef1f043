"""Durations: "1h30m" in, timedelta out, and back to the same short text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duftui.definitions.durations import format_duration, humanize_seconds, parse_duration

# Whole milliseconds up to ~2700 years: the precision and range durations are kept at.
durations = st.integers(min_value=0, max_value=86_400_000 * 1_000_000).map(
    lambda ms: timedelta(milliseconds=ms)
)


@given(durations)
def test_format_then_parse_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@given(durations)
def test_formatted_text_is_canonical(value: timedelta) -> None:
    text = format_duration(value)
    assert format_duration(parse_duration(text)) == text
    assert " " not in text


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["ms", "s", "m", "h", "d", "w"])),
        min_size=1,
        max_size=5,
    )
)
def test_parts_add_up(parts: list[tuple[int, str]]) -> None:
    unit = {
        "ms": timedelta(milliseconds=1),
        "s": timedelta(seconds=1),
        "m": timedelta(minutes=1),
        "h": timedelta(hours=1),
        "d": timedelta(days=1),
        "w": timedelta(weeks=1),
    }
    text = "".join(f"{count}{name}" for count, name in parts)
    assert parse_duration(text) == sum((count * unit[name] for count, name in parts), timedelta())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(minutes=90)),
        ("0.0004s", timedelta(0)),
        (90, timedelta(seconds=90)),
        (1.25, timedelta(milliseconds=1250)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_parse_accepts(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=5400), "1h30m"),
        (timedelta(days=1, seconds=1, milliseconds=5), "1d1s5ms"),
        (timedelta(weeks=2), "14d"),
        (timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_format(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


BAD = [
    ("", 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got ""'),
    ("30", 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "30"'),
    (
        "30 minutes",
        'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "30 minutes"',
    ),
    ("-5s", 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "-5s"'),
    ("1e3s", 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "1e3s"'),
    ("h", 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "h"'),
    ("١s", 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got "١s"'),
    (True, 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got true'),
    (None, 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got None'),
    ([1], 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got [1]'),
    (float("nan"), 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got nan'),
    (float("inf"), 'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got inf'),
    (-1, "a duration cannot be negative, got -1"),
    (
        timedelta(seconds=-1),
        "a duration cannot be negative, got -1s",
    ),
    ("99999999999w", 'duration "99999999999w" is too long'),
    (10**20, "duration 100000000000000000000 is too long"),
]


@pytest.mark.parametrize(("value", "message"), BAD, ids=[repr(v) for v, _ in BAD])
def test_parse_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


@given(st.text(alphabet="0123456789.smhdw -+eE", max_size=12))
def test_parse_never_raises_anything_but_value_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except ValueError:
        return
    assert result >= timedelta(0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0.42, "0.4s"), (12, "12s"), (185, "3m05s"), (7260, "2h01m"), (200_000, "2d07h")],
)
def test_humanize_seconds(seconds: float | None, text: str) -> None:
    assert humanize_seconds(seconds) == text
