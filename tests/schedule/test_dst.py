"""DST (DESIGN §6): a wall time that does not exist fires once at the first valid moment
after it; a repeated hour fires once. Both transition days of Europe/Amsterdam and
America/New_York, for hourly, every-minute and daily-at-02:30 schedules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from duftui.schedule.scheduler import Scheduler
from duftui.schedule.triggers import trigger_for
from tests.engine.conftest import Workspace
from tests.schedule.conftest import sched

# zone, spring-forward day, fall-back day, the hour that is skipped / repeated (local)
ZONES = [
    ("Europe/Amsterdam", datetime(2026, 3, 29), datetime(2026, 10, 25), 2, 2),
    ("America/New_York", datetime(2026, 3, 8), datetime(2026, 11, 1), 2, 1),
]


def day_fires(cron: str, zone_name: str, day: datetime) -> list[datetime]:
    """Every fire from local midnight of `day` to the next local midnight, local times."""
    zone = ZoneInfo(zone_name)
    start = day.replace(tzinfo=zone).astimezone(UTC)
    end = (day + timedelta(days=1)).replace(tzinfo=zone).astimezone(UTC)
    trigger = trigger_for(sched(cron=cron, timezone=zone_name))
    return [
        f.astimezone(zone)
        for f in trigger.fires(start - timedelta(microseconds=1), end - timedelta(microseconds=1))
    ]


def utc_gaps(fires: list[datetime]) -> list[timedelta]:
    instants = [f.astimezone(UTC) for f in fires]
    return [b - a for a, b in itertools.pairwise(instants)]


def unique_instants(fires: list[datetime]) -> bool:
    return len({f.astimezone(UTC) for f in fires}) == len(fires)


@pytest.mark.parametrize(("zone", "spring", "fall", "skipped", "repeated"), ZONES)
def test_hourly(zone: str, spring: datetime, fall: datetime, skipped: int, repeated: int) -> None:
    fires = day_fires("0 * * * *", zone, spring)
    assert len(fires) == 23 and unique_instants(fires)
    hours = [f.hour for f in fires]
    assert skipped not in hours and hours.count(skipped + 1) == 1
    assert set(utc_gaps(fires)) == {timedelta(hours=1)}

    fires = day_fires("0 * * * *", zone, fall)
    assert len(fires) == 24 and unique_instants(fires)
    assert [f.hour for f in fires] == list(range(24))
    first_pass = next(f for f in fires if f.hour == repeated)
    assert (
        first_pass.fold == 0 and first_pass.utcoffset() == fires[0].utcoffset()
    )  # the summer-time (first) occurrence
    assert sorted(set(utc_gaps(fires))) == [timedelta(hours=1), timedelta(hours=2)]


@pytest.mark.parametrize(("zone", "spring", "fall", "skipped", "repeated"), ZONES)
def test_every_minute(
    zone: str, spring: datetime, fall: datetime, skipped: int, repeated: int
) -> None:
    fires = day_fires("* * * * *", zone, spring)
    assert len(fires) == 23 * 60 and unique_instants(fires)
    assert not [f for f in fires if f.hour == skipped]
    assert set(utc_gaps(fires)) == {timedelta(minutes=1)}
    after_gap = [f for f in fires if (f.hour, f.minute) == (skipped + 1, 0)]
    assert len(after_gap) == 1

    fires = day_fires("* * * * *", zone, fall)
    assert len(fires) == 24 * 60 and unique_instants(fires)
    walls = [(f.hour, f.minute) for f in fires]
    assert len(set(walls)) == len(walls)  # each wall-clock minute once
    gaps = utc_gaps(fires)
    assert gaps.count(timedelta(minutes=61)) == 1  # silent during the second pass
    assert set(gaps) == {timedelta(minutes=1), timedelta(minutes=61)}


@pytest.mark.parametrize(("zone", "spring", "fall", "skipped", "repeated"), ZONES)
def test_daily_at_0230(
    zone: str, spring: datetime, fall: datetime, skipped: int, repeated: int
) -> None:
    fires = day_fires("30 2 * * *", zone, spring)
    assert len(fires) == 1
    assert (fires[0].hour, fires[0].minute) == (3, 0)  # end of the gap, not 03:30
    day_before = day_fires("30 2 * * *", zone, spring - timedelta(days=1))
    assert [(f.hour, f.minute) for f in day_before] == [(2, 30)]

    fires = day_fires("30 2 * * *", zone, fall)
    assert len(fires) == 1 and (fires[0].hour, fires[0].minute) == (2, 30)
    if repeated == 2:  # Amsterdam repeats 02:00-02:59: the first (CEST) occurrence fires
        assert fires[0].utcoffset() == timedelta(hours=2)
    fires = day_fires(f"30 {repeated} * * *", zone, fall)
    assert len(fires) == 1 and fires[0].fold == 0


@pytest.mark.parametrize("fall", [False, True])
def test_daemon_path_fires_each_transition_fire_once(tmp_path, fall: bool) -> None:
    """Drive the scheduler across the Amsterdam transition minute by minute."""
    ws = Workspace(tmp_path / "ws")
    ws.task(
        "hourly",
        'name = "h"\n[run]\nkind = "command"\ncommand = ["true"]\n'
        '[[schedule]]\ncron = "0 * * * *"\ntimezone = "Europe/Amsterdam"\n'
        '[[schedule]]\ncron = "30 2 * * *"\ntimezone = "Europe/Amsterdam"\n',
    )
    zone = ZoneInfo("Europe/Amsterdam")
    day = datetime(2026, 10, 25) if fall else datetime(2026, 3, 29)
    now = day.replace(hour=0, minute=30, tzinfo=zone).astimezone(UTC)
    scheduler = Scheduler(ws.store, default_zone=UTC, default_tz_name="UTC")
    scheduler.sync(ws.catalogue(), now)
    end = now + timedelta(hours=5)
    while now < end:
        now += timedelta(minutes=1)
        scheduler.fire_due(now)
    with ws.store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT f.schedule_key, f.fire_time, f.outcome, r.logical_tz FROM fire f "
                "JOIN run r ON r.id = f.run_id ORDER BY f.fire_time"
            )
        ).all()
    ws.close()
    hourly = [datetime.fromisoformat(r[1]).astimezone(zone) for r in rows if r[0] == "p/hourly#0"]
    daily = [datetime.fromisoformat(r[1]).astimezone(zone) for r in rows if r[0] == "p/hourly#1"]
    assert {r[2] for r in rows} == {"queued"} and {r[3] for r in rows} == {"Europe/Amsterdam"}
    if fall:  # 01:00, 02:00 (CEST), 03:00 CET, 04:00 within five real hours from 00:30 CEST
        assert [f.strftime("%H:%M%z") for f in hourly] == [
            "01:00+0200",
            "02:00+0200",
            "03:00+0100",
            "04:00+0100",
        ]
        assert [f.strftime("%H:%M%z") for f in daily] == ["02:30+0200"]
    else:
        assert [f.strftime("%H:%M%z") for f in hourly] == [
            "01:00+0100",
            "03:00+0200",
            "04:00+0200",
            "05:00+0200",
            "06:00+0200",
        ]
        assert [f.strftime("%H:%M%z") for f in daily] == ["03:00+0200"]
