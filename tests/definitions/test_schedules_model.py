"""The `[[schedule]]` model: cron in its three spellings, intervals, one-offs and keys."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from duftui.definitions.schedules import CronFields, Schedule, normalize_cron, schedule_key


def errors_of(data: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(data)
    return [(e["loc"], str(e["ctx"]["error"])) for e in caught.value.errors() if "ctx" in e]


def test_six_field_form_is_seconds_first() -> None:
    schedule = Schedule.model_validate({"cron": "0  15 6 * * *"})
    assert schedule.cron == "0 15 6 * * *"
    assert schedule.cron_expression() == "0 15 6 * * *"
    assert schedule.describe() == "cron 0 15 6 * * *"


def test_five_field_form_is_kept_as_written() -> None:
    schedule = Schedule.model_validate({"cron": "*/10 2 * * 1-5", "timezone": "UTC"})
    assert schedule.cron_expression() == "*/10 2 * * 1-5"
    assert schedule.describe() == "cron */10 2 * * 1-5 (UTC)"


@pytest.mark.parametrize(
    ("table", "expression"),
    [
        ({}, "0 * * * * *"),
        ({"hour": 6}, "0 * 6 * * *"),
        ({"minute": 30, "hour": 6, "day_of_week": "1-5"}, "0 30 6 * * 1-5"),
        (
            {
                "second": 15,
                "minute": "*/5",
                "hour": "8-18",
                "day_of_month": 1,
                "month": "1,7",
                "day_of_week": "*",
            },
            "15 */5 8-18 1 1,7 *",
        ),
    ],
)
def test_table_form_gives_the_expression(table: dict, expression: str) -> None:
    schedule = Schedule.model_validate({"cron": table})
    assert isinstance(schedule.cron, CronFields)
    assert schedule.cron_expression() == expression
    assert normalize_cron(expression) == expression


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ({"hour": 24}, "hour", "expected 0-23, got 24"),
        ({"minute": "61"}, "minute", "expected 0-59, got 61"),
        ({"day_of_month": 0}, "day_of_month", "expected 1-31, got 0"),
        ({"month": "1-13"}, "month", "expected 1-12, got 13"),
        ({"day_of_week": 8}, "day_of_week", "expected 0-7, got 8"),
        ({"second": "*/0"}, "second", "expected step 1 or more, got */0"),
    ],
)
def test_table_field_out_of_range(table: dict, field: str, message: str) -> None:
    assert errors_of({"cron": table}) == [(("cron", "CronFields", field), message)]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "0 6 * *",
            "expected 5 fields (minute hour day month weekday) or 6 with seconds first, "
            'got 4 in "0 6 * *"',
        ),
        (
            "0 0 6 * * * 2026",
            "expected 5 fields (minute hour day month weekday) or 6 with seconds first, "
            'got 7 in "0 0 6 * * * 2026"; a year field is not supported',
        ),
        ("0 25 * * *", 'expected hour 0-23, got 25 (in "0 25 * * *")'),
        ("60 0 6 * * *", 'expected second 0-59, got 60 (in "60 0 6 * * *")'),
        ("0 0 32 * *", 'expected day of month 1-31, got 32 (in "0 0 32 * *")'),
        ("*/0 * * * *", 'expected minute step 1 or more, got */0 (in "*/0 * * * *")'),
        ("0 0 * * FOO", 'invalid cron expression "0 0 * * FOO": not acceptable'),
        ("0 0 30 2 *", "day of month 30 never comes in February: this schedule would never "
                       'fire (in "0 0 30 2 *")'),
        ("0 0 31 APR,jun *", "day of month 31 never comes in April or June: this schedule "
                             'would never fire (in "0 0 31 APR,jun *")'),
    ],
)
def test_bad_cron_text(expression: str, message: str) -> None:
    assert errors_of({"cron": expression}) == [(("cron",), message)]


def test_names_and_special_fields_are_left_to_croniter() -> None:
    for expression in ("0 9 * * MON-FRI", "0 0 L * *", "0 0 * JAN,JUL 5#2", "0 0 * * 7",
                       "0 0 29 2 *", "0 0 30 2 MON", "0 0 31 NOV-FEB *", "0 0 31 */2 *"):
        assert Schedule.model_validate({"cron": expression}).cron == expression


def test_every_and_at() -> None:
    every = Schedule.model_validate({"every": "1h30m", "enabled": False})
    assert every.every == timedelta(minutes=90)
    assert every.describe() == "every 1h30m [off]"
    at = Schedule.model_validate({"at": "2026-12-01T06:00:00"})
    assert at.at == datetime(2026, 12, 1, 6, 0)
    assert at.describe() == "at 2026-12-01 06:00"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "a schedule needs exactly one of cron, every or at (found: none)"),
        (
            {"cron": "0 6 * * *", "every": "1h"},
            "a schedule needs exactly one of cron, every or at (found: cron, every)",
        ),
        (
            {"every": "1h", "start": "2026-02-01", "end": "2026-01-01"},
            "end must be after start",
        ),
    ],
)
def test_schedule_shape_errors(data: dict, message: str) -> None:
    assert errors_of(data) == [((), message)]


def test_every_must_be_positive() -> None:
    assert errors_of({"every": "0s"}) == [(("every",), "an interval must be longer than zero")]


def test_timezone_did_you_mean() -> None:
    assert errors_of({"every": "1h", "timezone": "europe/amsterdam"}) == [
        (("timezone",), "unknown time zone \"europe/amsterdam\"; did you mean 'Europe/Amsterdam'?")
    ]
    assert errors_of({"every": "1h", "timezone": "Mars/Olympus"}) == [
        (
            ("timezone",),
            'unknown time zone "Mars/Olympus"; use an IANA name like "Europe/Amsterdam" or "UTC"',
        )
    ]


def test_schedule_key_uses_name_or_index() -> None:
    named = Schedule.model_validate({"name": "nightly", "cron": "0 2 * * *"})
    unnamed = Schedule.model_validate({"every": "15m"})
    assert schedule_key("pipeline", 0, named) == "pipeline#nightly"
    assert schedule_key("demo/heartbeat", 1, unnamed) == "demo/heartbeat#1"
    assert schedule_key("demo/heartbeat", 0, unnamed) != schedule_key("demo/heartbeat", 1, unnamed)


def test_schedule_params_accept_references() -> None:
    schedule = Schedule.model_validate(
        {"every": "1d", "params": {"day": "today", "token": {"secret": "api.token"}}}
    )
    assert schedule.params["day"] == "today"
    assert schedule.params["token"].secret == "api.token"
