"""Cron fire times checked against published conformance vectors.

Sources (facts read from them; the table is ours):
- robfig/cron, `spec_test.go` (TestNext, TestActivation): its specs are seconds-first, as
  duftui's 6-field form; its 5-field specs (`sec min hour dom month`) are rewritten here
  with a `*` weekday. Go's layout "Mon Jul 9 2012" ignores the weekday name, so the dates
  below are the calendar dates it names.
- croniter's own suite, `croniter/tests/test_croniter.py` (croniter 7): the rejected
  expressions, `?`, `L`, `#`, names and wrap-around ranges.
- The crontab(5) manual of cronie / Vixie cron: its EXAMPLE CRON FILE lines and the rule
  that a day of month and a day of week both restricted match when *either* does.
- crontab.guru's examples page (every 5 minutes, every 2 hours, quarterly, weekends …).

Where croniter (and so duftui) reads an expression differently from another cron, the
case is in `DIFFERENCES` with both readings, and docs/schedules.md explains it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from croniter import croniter
from croniter.croniter import CroniterBadDateError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from duftui.definitions.schedules import Schedule
from duftui.schedule.triggers import TriggerError, trigger_for
from tests.schedule.conftest import NY


def first_after(expression: str, after: datetime, zone: str = "UTC") -> datetime | None:
    schedule = Schedule.model_validate({"cron": expression, "timezone": zone})
    found = trigger_for(schedule).first_after(after)
    return found.astimezone(after.tzinfo) if found else None


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (expression, start, expected next fire) — all in UTC.
NEXT = [
    # robfig/cron TestNext, rewritten seconds-first with 6 fields
    ("0 0/15 * * * *", "2012-07-09 14:45", "2012-07-09 15:00"),
    ("0 0/15 * * * *", "2012-07-09 14:59", "2012-07-09 15:00"),
    ("0 0/15 * * * *", "2012-07-09 14:59:59", "2012-07-09 15:00"),
    ("0 20-35/15 * * * *", "2012-07-09 15:45", "2012-07-09 16:20"),
    ("0 */15 * * * *", "2012-07-09 23:46", "2012-07-10 00:00"),
    ("0 20-35/15 * * * *", "2012-07-09 23:45", "2012-07-10 00:20"),
    ("15/35 20-35/15 * * * *", "2012-07-09 23:35:51", "2012-07-10 00:20:15"),
    ("15/35 20-35/15 1/2 * * *", "2012-07-09 23:35:51", "2012-07-10 01:20:15"),
    ("15/35 20-35/15 10-12 * * *", "2012-07-09 23:35:51", "2012-07-10 10:20:15"),
    ("15/35 20-35/15 1/2 */2 * *", "2012-07-09 23:35:51", "2012-07-11 01:20:15"),
    ("15/35 20-35/15 * 9-20 * *", "2012-07-09 23:35:51", "2012-07-10 00:20:15"),
    ("15/35 20-35/15 * 9-20 Jul *", "2012-07-09 23:35:51", "2012-07-10 00:20:15"),
    ("0 0 0 9 Apr-Oct ?", "2012-07-09 23:35", "2012-08-09 00:00"),
    ("0 0 0 */5 Oct Mon", "2012-07-09 23:35", "2012-10-01 00:00"),
    ("0 0 0 * Feb Mon", "2012-07-09 23:35", "2013-02-04 00:00"),
    ("0 * * * * *", "2012-12-31 23:59:45", "2013-01-01 00:00:00"),
    ("0 0 0 29 Feb ?", "2012-07-09 23:35", "2016-02-29 00:00"),
    # robfig/cron TestActivation (a time is a fire when the next fire after t-1s is t)
    ("0 5/15 * * * *", "2012-07-09 15:19:59", "2012-07-09 15:20"),
    ("0 30 08 ? Jul Sun", "2012-07-15 08:29:59", "2012-07-15 08:30"),
    ("0 30 08 15 Jul ?", "2012-07-15 08:29:59", "2012-07-15 08:30"),
    ("0 * * 1,15 * Sun", "2012-06-14 23:59:59", "2012-06-15 00:00"),
    ("0 * * 1,15 * Sun", "2012-07-31 23:59:59", "2012-08-01 00:00"),
    ("0 * * */2 * Sun", "2012-07-14 23:59:59", "2012-07-15 00:00"),
    # crontab(5) example cron file
    ("5 0 * * *", "2026-01-01 00:04", "2026-01-01 00:05"),
    ("5 0 * * *", "2026-01-01 00:05", "2026-01-02 00:05"),
    ("15 14 1 * *", "2026-01-01 14:16", "2026-02-01 14:15"),
    ("0 22 * * 1-5", "2026-01-02 22:00", "2026-01-05 22:00"),
    ("23 0-23/2 * * *", "2026-01-01 01:00", "2026-01-01 02:23"),
    ("5 4 * * sun", "2026-01-01 00:00", "2026-01-04 04:05"),
    ("0 */4 1 * mon", "2026-01-01 21:00", "2026-01-05 00:00"),
    ("30 4 1,15 * 5", "2026-01-02 05:00", "2026-01-09 04:30"),
    ("30 4 1,15 * 5", "2026-01-10 00:00", "2026-01-15 04:30"),
    # crontab.guru examples
    ("*/5 * * * *", "2026-03-10 10:02:30", "2026-03-10 10:05"),
    ("0 */2 * * *", "2026-03-10 10:00", "2026-03-10 12:00"),
    ("0 9-17 * * *", "2026-03-10 17:30", "2026-03-11 09:00"),
    ("0 0 1 */3 *", "2026-02-15 00:00", "2026-04-01 00:00"),
    ("0 0 1 1 *", "2026-01-01 00:00", "2027-01-01 00:00"),
    ("0 0 * * 6,0", "2026-01-05 00:00", "2026-01-10 00:00"),
    ("0 0 * * 0,7", "2026-01-05 00:00", "2026-01-11 00:00"),
    # croniter's suite: names, wrap-around ranges, ?, L, #, W
    ("0 0 * * FRI-MON", "2026-01-05 12:00", "2026-01-09 00:00"),
    ("0 0 1 * ?", "2010-08-25 15:56", "2010-09-01 00:00"),
    ("0 0 L * *", "2026-02-10 00:00", "2026-02-28 00:00"),
    ("0 0 L 2 *", "2027-03-01 00:00", "2028-02-29 00:00"),
    ("0 0 * * 1#2", "2026-01-01 00:00", "2026-01-12 00:00"),
    ("0 0 15W * *", "2026-02-01 00:00", "2026-02-16 00:00"),
    ("0 0 * JAN-MAR *", "2026-03-31 00:00", "2027-01-01 00:00"),
    ("59 23 31 12 *", "2026-06-01 00:00", "2026-12-31 23:59"),
    ("*/20 * * * * *", "2026-01-01 00:00:41", "2026-01-01 00:01:00"),
]

UNSATISFIABLE = ["0 0 0 30 Feb ?", "0 0 0 31 Apr ?", "0 0 31 11 *"]  # robfig TestNext

REJECTED = [
    "",  # robfig: empty spec string
    "* * * *",  # robfig, croniter: too few fields
    "* * * * * * *",  # a year field
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * 32 * *",
    "* * * 0 *",
    "* * * 13 *",
    "* * * * 8",
    "61 * * * * *",
    "0 0 1 * * 2026",
    "*/0 * * * *",  # croniter test_invalid_zerorepeat
    "5-5/0 * * * *",
    "59-0/0 * * * *",
    "a * * * *",  # croniter test_error
    "-90 * * * *",
    "* * * janu-jun *",
    "1-1_0 * * * *",
    "0-10/error * * * *",
    "0-10/ * * * *",
    "0-1& * * * *",
    "* * 5-100 * *",
    "? * * * *",  # croniter test_invalid_question_mark
    "* ? * * *",
    "0 0 * * 1#0",  # croniter test_nth_out_of_range
    "0 0 * * 1#7",
    "0 0 * * L-1",  # croniter test_last_out_of_range
    "0 0 * * L8",
    "* 5 j * * *",  # robfig TestParseScheduleErrors
    "@unrecognized",
    "@reboot",
    "* * * L-31 *",
    "4 0 L/2 2 0",
    "\u0665 * * * *",  # croniter: non-ASCII digits
    "* * * * MONDAY",
    "1,,2 * * * *",
    "H * * * *",  # Jenkins hash syntax (croniter needs a hash_id; duftui has none)
    "R * * * *",  # croniter random syntax: another time in every process
]


@pytest.mark.parametrize(
    ("expression", "start", "expected"), NEXT, ids=[f"{e} after {s}" for e, s, _ in NEXT]
)
def test_next_fire(expression: str, start: str, expected: str) -> None:
    assert first_after(expression, u(start)) == u(expected)


@pytest.mark.parametrize("expression", UNSATISFIABLE)
def test_unsatisfiable_expressions_are_rejected_with_the_reason(expression: str) -> None:
    """robfig/cron accepts them and never fires; a schedule that can never fire is a
    mistake, so duftui says which day never comes in which month."""
    with pytest.raises(ValidationError, match=r"never comes in .*: this schedule would never"):
        Schedule.model_validate({"cron": expression, "timezone": "UTC"})


_DAYS = st.sets(st.integers(1, 31), min_size=1, max_size=3)
_MONTHS = st.sets(st.integers(1, 12), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(days=_DAYS, months=_MONTHS)
def test_a_date_is_rejected_exactly_when_croniter_finds_no_fire(days: set[int],
                                                                   months: set[int]) -> None:
    expression = f"0 0 {','.join(map(str, sorted(days)))} {','.join(map(str, sorted(months)))} *"
    try:
        croniter(expression, datetime(2024, 1, 1)).get_next(datetime)
        fires = True
    except CroniterBadDateError:
        fires = False
    try:
        Schedule.model_validate({"cron": expression})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == fires, expression


@pytest.mark.parametrize("expression", REJECTED, ids=[repr(e) for e in REJECTED])
def test_rejected(expression: str) -> None:
    with pytest.raises((ValidationError, TriggerError)):
        trigger_for(Schedule.model_validate({"cron": expression, "timezone": "UTC"}))


def test_tables_are_large_enough() -> None:
    assert len(NEXT) >= 40
    assert len(REJECTED) >= 30


# (expression, start, what duftui/croniter does, what the other cron does, which one)
DIFFERENCES = [
    # Vixie cron and robfig/cron treat a day field that *starts with* `*` (like */5) as
    # unrestricted, so day of month AND day of week must both match; croniter follows
    # POSIX: only a bare `*` is unrestricted, so either field matching is enough.
    (
        "0 0 0 */5 Apr,Aug,Oct Mon",
        "2012-07-09 23:35",
        "2012-08-01 00:00",
        "2012-08-06 00:00",
        "robfig/cron",
    ),
    (
        "0 * * */10 * Sun",
        "2012-07-14 23:59:59",
        "2012-07-15 00:00",
        "2012-07-21 00:00",
        "robfig/cron",
    ),
    # Quartz numbers weekdays 1-7 from Sunday; croniter 0-7 from Sunday (0 and 7 both
    # Sunday), so a numeric Quartz weekday lands one day later here. Names are safe.
    ("0 0 12 ? * 2", "2026-01-01 00:00", "2026-01-06 12:00", "2026-01-05 12:00", "Quartz"),
]


@pytest.mark.parametrize(("expression", "start", "ours", "theirs", "who"), DIFFERENCES)
def test_documented_differences(
    expression: str, start: str, ours: str, theirs: str, who: str
) -> None:
    assert first_after(expression, u(start)) == u(ours)
    assert u(ours) != u(theirs), who


def test_skipped_wall_time_fires_at_the_end_of_the_gap_not_a_year_later() -> None:
    # robfig/cron: "0 30 2 11 Mar ?" after 2012-03-11T00:00-05:00 -> 2013-03-11T02:30-04:00
    # (it skips a time that does not exist). duftui fires once at the first valid moment.
    after = datetime(2012, 3, 11, 0, 0, tzinfo=NY)
    assert first_after("0 30 2 11 Mar ?", after, "America/New_York") == datetime(
        2012, 3, 11, 3, 0, tzinfo=NY
    )


def test_repeated_wall_time_fires_once() -> None:
    # robfig/cron fires "0 30 1 04 Nov ?" again at 01:30 EST after 01:45 EDT; croniter
    # with an aware start does too. duftui fires a repeated wall time once (the first).
    after = datetime(2012, 11, 4, 1, 45, tzinfo=NY)
    assert first_after("0 30 1 04 Nov ?", after, "America/New_York") == datetime(
        2013, 11, 4, 1, 30, tzinfo=NY
    )
    # robfig's other fall-back vector agrees with duftui: 02:30 is not repeated.
    after = datetime(2012, 11, 4, 0, 0, tzinfo=NY)
    assert (
        first_after("0 30 2 04 Nov ?", after, "America/New_York").isoformat()
        == "2012-11-04T02:30:00-05:00"
    )
