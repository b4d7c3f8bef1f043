"""Atlas date templates at a logical time: month ends, leap days, years, DST days."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from duftui.engine.templates import TemplateError, expand, expand_name, shift

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("template", "at", "expected"),
    [
        ("parse(%Y-%m-%d-1)", datetime(2026, 11, 23, 9, tzinfo=UTC), "2026-11-22"),
        ("parse(%Y-%m-%d-1)", datetime(2026, 3, 1, 9, tzinfo=UTC), "2026-02-28"),
        ("parse(%Y-%m-%d-1)", datetime(2024, 3, 1, 9, tzinfo=UTC), "2024-02-29"),
        ("parse(%Y-%m-%d-1)", datetime(2027, 1, 1, 0, 30, tzinfo=UTC), "2026-12-31"),
        ("parse(%Y-%m-%d+1)", datetime(2024, 2, 28, tzinfo=UTC), "2024-02-29"),
        ("parse(%Y-%m-%d+1)", datetime(2025, 12, 31, tzinfo=UTC), "2026-01-01"),
        ("parse(%Y-%m-1)", datetime(2026, 3, 31, tzinfo=UTC), "2026-02"),
        ("parse(%Y-%m-%d%m-1)", datetime(2026, 3, 31, tzinfo=UTC), "2026-02-2802"),
        ("parse(%Y%m-1)", datetime(2026, 1, 15, tzinfo=UTC), "202512"),
        ("parse(%Y-%m+1)", datetime(2026, 12, 15, tzinfo=UTC), "2027-01"),
        ("parse(%Y-1)", datetime(2026, 6, 1, tzinfo=UTC), "2025"),
        ("parse(%Y-%m-%d %Y-1)", datetime(2024, 2, 29, tzinfo=UTC), "2023-02-28 2023"),
        ("parse(%Y-%m-firstday)", datetime(2026, 11, 23, tzinfo=UTC), "2026-11-01"),
        ("parse(%Y-%m-lastday)", datetime(2026, 2, 3, tzinfo=UTC), "2026-02-28"),
        ("parse(%Y-%m-lastday)", datetime(2024, 2, 3, tzinfo=UTC), "2024-02-29"),
        ("parse(%Y-%m-1-lastday)", datetime(2026, 3, 31, tzinfo=UTC), "2026-02-28"),
        ("parse(%Y-%m-1-firstday)", datetime(2026, 1, 10, tzinfo=UTC), "2025-12-01"),
        ("parse(%m/firstday0/%Y)", datetime(2026, 7, 20, tzinfo=UTC), "07/1/2026"),
        ("parse(%H:%M-30)", datetime(2026, 1, 1, 0, 10, tzinfo=UTC), "23:40"),
        ("from parse(%Y-%m-%d-7) to parse(%Y-%m-%d)", datetime(2026, 1, 3, tzinfo=UTC),
         "from 2025-12-27 to 2026-01-03"),
        ("no template here", datetime(2026, 1, 3, tzinfo=UTC), "no template here"),
    ],
)
def test_templates(template: str, at: datetime, expected: str) -> None:
    assert expand(template, at) == expected


def test_spring_forward_day_amsterdam() -> None:
    # 2026-03-29 02:00 CET jumps to 03:00 CEST.
    at = datetime(2026, 3, 29, 4, 0, tzinfo=AMS)
    assert expand("parse(%Y-%m-%d %H:%M %Z%H-2)", at) == "2026-03-29 01:00 CET01"
    assert expand("parse(%Y-%m-%d-1)", at) == "2026-03-28"
    # The same wall time yesterday keeps the wall clock, with yesterday's offset.
    assert shift(at, "days", -1).isoformat() == "2026-03-28T04:00:00+01:00"


def test_fall_back_day_new_york() -> None:
    # 2026-11-01 02:00 EDT falls back to 01:00 EST; one hour before 01:30 EST is 01:30 EDT.
    at = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NYC)
    earlier = shift(at, "hours", -1)
    assert (earlier.hour, earlier.minute, earlier.utcoffset().total_seconds()) == (1, 30, -4 * 3600)
    assert expand("parse(%Y-%m-%d-1)", at) == "2026-10-31"


def test_day_arithmetic_into_a_missing_hour_lands_after_it() -> None:
    # 02:30 on 2026-03-08 does not exist in New York; a day step there moves past the gap.
    at = datetime(2026, 3, 9, 2, 30, tzinfo=NYC)
    moved = shift(at, "days", -1)
    assert moved.isoformat() == "2026-03-08T03:30:00-04:00"


def test_file_names_expand_bare_directives() -> None:
    at = datetime(2026, 11, 23, 6, 15, tzinfo=UTC)
    assert expand_name("clinic_%Y%m%d.csv", at) == "clinic_20261123.csv"
    assert expand_name("clinic_%Y%m%d-1.csv", at) == "clinic_20261122.csv"
    assert expand_name("parse(%Y)/x_%m.csv", at) == "2026/x_11.csv"
    assert expand_name("plain.csv", at) == "plain.csv"


def test_arithmetic_on_an_unsupported_directive_is_an_error() -> None:
    with pytest.raises(TemplateError, match="cannot do arithmetic on %p"):
        expand("parse(%p-1)", datetime(2026, 1, 1, tzinfo=UTC))
