"""Fire times of every schedule kind, with fixed datetimes (never the wall clock)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from duftui.definitions.schedules import Schedule
from duftui.schedule.triggers import TriggerError, next_fires, trigger_for
from duftui.schedule.zones import local_zone, wall_to_instant
from tests.schedule.conftest import AMS, NY, at, sched, utc


def iso(values: list[datetime]) -> list[str]:
    return [v.isoformat() for v in values]


def test_five_field_cron_is_minute_first() -> None:
    fires = next_fires(sched(cron="15 6 * * 1-5", timezone="UTC"), utc(2026, 1, 2, 6, 15), 3)
    assert iso(fires) == [
        "2026-01-05T06:15:00+00:00",
        "2026-01-06T06:15:00+00:00",
        "2026-01-07T06:15:00+00:00",
    ]


def test_six_field_cron_is_seconds_first() -> None:
    fires = next_fires(sched(cron="30 15 6 * * *", timezone="UTC"), utc(2026, 1, 1), 2)
    assert iso(fires) == ["2026-01-01T06:15:30+00:00", "2026-01-02T06:15:30+00:00"]


def test_table_form_matches_the_string_form() -> None:
    table = sched(cron={"second": 5, "minute": "*/20", "hour": 9}, timezone="UTC")
    text_form = sched(cron="5 */20 9 * * *", timezone="UTC")
    after = utc(2026, 5, 1)
    assert next_fires(table, after, 4) == next_fires(text_form, after, 4)
    assert iso(next_fires(table, after, 2)) == [
        "2026-05-01T09:00:05+00:00",
        "2026-05-01T09:20:05+00:00",
    ]


def test_fires_are_strictly_after_the_given_time() -> None:
    schedule = sched(cron="0 * * * * *", timezone="UTC")
    assert next_fires(schedule, utc(2026, 1, 1, 10, 0), 1) == [utc(2026, 1, 1, 10, 1)]
    trigger = trigger_for(schedule)
    assert trigger.first_after(utc(2026, 1, 1, 10, 0, 59, 999999)) == utc(2026, 1, 1, 10, 1)
    assert trigger.is_fire(utc(2026, 1, 1, 10, 1))
    assert not trigger.is_fire(utc(2026, 1, 1, 10, 1, 1))


def test_timezone_applies_to_the_wall_clock() -> None:
    fires = next_fires(sched(cron="0 30 6 * * *", timezone="Europe/Amsterdam"), utc(2026, 7, 1), 1)
    assert iso(fires) == ["2026-07-01T06:30:00+02:00"]
    assert fires[0].astimezone(UTC) == utc(2026, 7, 1, 4, 30)


def test_default_zone_is_used_without_timezone() -> None:
    fires = next_fires(sched(cron="0 0 12 * * *"), utc(2026, 1, 1), 1, default_zone=NY)
    assert fires[0].astimezone(UTC) == utc(2026, 1, 1, 17)


def test_machine_zone_has_dst_rules_not_a_fixed_offset() -> None:
    zone, _name = local_zone()
    winter = datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset()
    summer = datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset()
    assert winter is not None and summer is not None  # a real tzinfo, whatever it is


def test_start_and_end_bound_the_fires_inclusively() -> None:
    schedule = sched(
        cron="0 * * * *", timezone="UTC", start="2026-01-01T02:00:00", end="2026-01-01T04:00:00"
    )
    assert iso(next_fires(schedule, utc(2026, 1, 1), 10)) == [
        "2026-01-01T02:00:00+00:00",
        "2026-01-01T03:00:00+00:00",
        "2026-01-01T04:00:00+00:00",
    ]
    assert next_fires(schedule, utc(2026, 1, 1, 4), 10) == []


def test_naive_start_is_wall_clock_in_the_schedule_zone() -> None:
    schedule = sched(every="1h", start="2026-03-01T08:00:00", timezone="America/New_York")
    fires = next_fires(schedule, utc(2026, 1, 1), 2)
    assert iso(fires) == ["2026-03-01T08:00:00-05:00", "2026-03-01T09:00:00-05:00"]


def test_every_is_anchored_at_start() -> None:
    schedule = sched(every="15m", start="2026-01-01T00:05:00", timezone="UTC")
    assert iso(next_fires(schedule, utc(2026, 1, 1, 1), 3)) == [
        "2026-01-01T01:05:00+00:00",
        "2026-01-01T01:20:00+00:00",
        "2026-01-01T01:35:00+00:00",
    ]
    assert next_fires(schedule, utc(2025, 12, 31), 1) == [utc(2026, 1, 1, 0, 5)]


def test_every_without_start_uses_the_anchor_or_the_given_time() -> None:
    schedule = sched(every="10m", timezone="UTC")
    assert next_fires(schedule, utc(2026, 1, 1, 9, 3), 2) == [
        utc(2026, 1, 1, 9, 13),
        utc(2026, 1, 1, 9, 23),
    ]
    anchored = next_fires(schedule, utc(2026, 1, 1, 9, 3), 2, anchor=utc(2026, 1, 1, 8, 0))
    assert anchored == [utc(2026, 1, 1, 9, 10), utc(2026, 1, 1, 9, 20)]


def test_every_counts_elapsed_time_across_dst() -> None:
    schedule = sched(every="1h", start="2026-03-29T00:00:00", timezone="Europe/Amsterdam")
    fires = next_fires(schedule, utc(2026, 3, 28), 4)
    assert iso(fires) == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]
    instants = [f.astimezone(UTC) for f in fires]  # same-zone subtraction is wall-clock
    gaps = {b - a for a, b in itertools.pairwise(instants)}
    assert gaps == {timedelta(hours=1)}


def test_one_off_at_fires_once() -> None:
    schedule = sched(at="2026-12-01T06:00:00", timezone="Europe/Amsterdam")
    assert iso(next_fires(schedule, utc(2026, 1, 1), 5)) == ["2026-12-01T06:00:00+01:00"]
    assert next_fires(schedule, utc(2026, 12, 1, 5), 5) == []
    trigger = trigger_for(schedule)
    assert trigger.last_until(utc(2027, 1, 1)) == utc(2026, 12, 1, 5)
    assert trigger.last_until(utc(2026, 1, 1)) is None


def test_last_until_walks_back() -> None:
    trigger = trigger_for(sched(cron="*/15 * * * *", timezone="UTC"))
    assert trigger.last_until(utc(2026, 1, 1, 10, 14, 59)) == utc(2026, 1, 1, 10, 0)
    assert trigger.last_until(utc(2026, 1, 1, 10, 15)) == utc(2026, 1, 1, 10, 15)
    every = trigger_for(sched(every="10m", timezone="UTC"), anchor=utc(2026, 1, 1))
    assert every.last_until(utc(2026, 1, 1, 0, 25)) == utc(2026, 1, 1, 0, 20)


def test_unsatisfiable_cron_never_fires() -> None:
    """Loading refuses such an expression; one that gets past it still fires nothing."""
    unchecked = sched(cron="0 0 28 2 *", timezone="UTC").model_copy(update={"cron": "0 0 30 2 *"})
    assert next_fires(unchecked, utc(2026, 1, 1), 3) == []


def test_random_values_are_refused() -> None:
    with pytest.raises(ValueError, match="random"):  # when the definitions load
        sched(cron="R 6 * * *", timezone="UTC")
    unchecked = Schedule.model_construct(cron="R 6 * * *", timezone="UTC")
    with pytest.raises(TriggerError, match="random"):  # and by the trigger itself
        trigger_for(unchecked)


def test_wall_to_instant_handles_gap_and_fold() -> None:
    # 2026-03-29 02:30 does not exist in Amsterdam: the first valid moment is 03:00 CEST.
    assert wall_to_instant(datetime(2026, 3, 29, 2, 30), AMS) == utc(2026, 3, 29, 1)
    # 2026-10-25 02:30 happens twice: the first one (CEST, +02:00) is meant.
    assert wall_to_instant(datetime(2026, 10, 25, 2, 30), AMS) == utc(2026, 10, 25, 0, 30)
    assert wall_to_instant(datetime(2026, 7, 1, 12), AMS) == at(AMS, 2026, 7, 1, 12)
