"""Misfire planning: skip, coalesce and all, with grace and max_catchup (pure functions)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from duftui.schedule.misfire import (
    COALESCED,
    QUEUED,
    SCAN_LIMIT,
    SKIPPED,
    Backlog,
    collect_due,
    plan_backlog,
    span,
)
from duftui.schedule.triggers import trigger_for
from tests.schedule.conftest import sched, utc

GRACE = timedelta(seconds=30)
T0 = utc(2026, 5, 1, 10)


def minutes(*offsets: int) -> list:
    return [T0 + timedelta(minutes=m) for m in offsets]


def plan(policy: str, fires: list, now, max_catchup: int = 100, **backlog):
    return plan_backlog(
        Backlog(fires, **backlog), now, policy=policy, grace=GRACE, max_catchup=max_catchup
    )


@pytest.mark.parametrize("policy", ["skip", "coalesce", "all"])
def test_one_fire_on_time_runs_under_every_policy(policy: str) -> None:
    result = plan(policy, [T0], T0 + timedelta(milliseconds=3))
    assert [(f.fire_time, f.outcome, f.reason) for f in result.fires] == [(T0, QUEUED, None)]


@pytest.mark.parametrize("policy", ["skip", "coalesce", "all"])
def test_several_fires_within_grace_all_run(policy: str) -> None:
    fires = [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]
    result = plan(policy, fires, T0 + timedelta(seconds=25))
    assert [f.outcome for f in result.fires] == [QUEUED] * 3


def test_skip_records_missed_fires_and_runs_the_on_time_ones() -> None:
    fires = [*minutes(0, 1, 2), T0 + timedelta(minutes=2, seconds=40)]
    now = T0 + timedelta(minutes=3)
    result = plan("skip", fires, now)
    assert [f.outcome for f in result.fires] == [SKIPPED, SKIPPED, SKIPPED, QUEUED]
    assert result.fires[0].reason == "missed by 3m (grace 30s); misfire = skip"
    assert result.fires[2].reason == "missed by 1m (grace 30s); misfire = skip"


def test_coalesce_makes_one_run_at_the_latest_fire() -> None:
    fires = minutes(0, 1, 2, 3)
    now = T0 + timedelta(minutes=3, seconds=5)
    result = plan("coalesce", fires, now)
    assert [f.outcome for f in result.fires] == [COALESCED] * 3 + [QUEUED]
    assert {f.covered_by for f in result.fires[:3]} == {fires[-1]}
    assert result.fires[-1].fire_time == fires[-1]
    assert (
        result.fires[-1].reason == "4 due fires run once (misfire = coalesce), the oldest "
        "3m 5s late"
    )


def test_coalesce_of_a_single_missed_fire_runs_it_late() -> None:
    result = plan("coalesce", [T0], T0 + timedelta(hours=2))
    assert [(f.outcome, f.reason) for f in result.fires] == [
        (QUEUED, "2h late (misfire = coalesce)")
    ]


def test_all_runs_every_missed_fire_oldest_first() -> None:
    fires = minutes(0, 1, 2, 3, 4)
    result = plan("all", fires, T0 + timedelta(minutes=10))
    assert [f.outcome for f in result.fires] == [QUEUED] * 5
    assert [f.fire_time for f in result.fires] == fires
    assert result.warnings == []


def test_all_is_capped_by_max_catchup_with_a_warning() -> None:
    fires = minutes(0, 1, 2, 3, 4)
    result = plan("all", fires, T0 + timedelta(minutes=10), max_catchup=2)
    assert [f.outcome for f in result.fires] == [SKIPPED, SKIPPED, SKIPPED, QUEUED, QUEUED]
    assert [f.fire_time for f in result.fires if f.outcome == QUEUED] == fires[-2:]
    assert "max_catchup = 2" in result.fires[0].reason
    assert result.warnings == [
        "5 missed fires, more than max_catchup = 2: running the latest 2, skipping the older ones"
    ]


def test_all_cap_counts_only_missed_fires() -> None:
    fires = [*minutes(0, 1, 2), T0 + timedelta(minutes=2, seconds=50)]
    result = plan("all", fires, T0 + timedelta(minutes=3), max_catchup=1)
    assert [f.outcome for f in result.fires] == [SKIPPED, SKIPPED, QUEUED, QUEUED]


def test_collect_due_lists_a_short_backlog() -> None:
    trigger = trigger_for(sched(cron="*/10 * * * * *", timezone="UTC"))
    backlog = collect_due(trigger, T0, T0 + timedelta(seconds=35), grace=GRACE, keep=1)
    assert backlog.fires == [T0 + timedelta(seconds=s) for s in (0, 10, 20, 30)]
    assert backlog.omitted == 0


def test_collect_due_summarises_a_huge_backlog() -> None:
    trigger = trigger_for(sched(every="1s", timezone="UTC"), anchor=T0)
    now = T0 + timedelta(days=2)
    backlog = collect_due(trigger, T0, now, grace=GRACE, keep=3)
    # the 30 fires within grace (plus the one at `now`) and the 3 latest missed ones
    assert len(backlog.fires) == 31 + 3
    assert backlog.fires[-1] == now
    assert backlog.omitted == 2 * 86400 + 1 - len(backlog.fires) and backlog.omitted_exact
    assert backlog.omitted_from == T0
    assert backlog.omitted_to == backlog.fires[0] - timedelta(seconds=1)
    result = plan_backlog(backlog, now, policy="all", grace=GRACE, max_catchup=3)
    assert result.fires[0].fire_time == T0 and result.fires[0].outcome == SKIPPED
    assert "recorded as this one row" in (result.fires[0].reason or "")
    assert result.count(QUEUED) == 34 and len(result.fires) == 35
    coalesced = plan_backlog(backlog, now, policy="coalesce", grace=GRACE, max_catchup=3)
    assert coalesced.count(QUEUED) == 1 and coalesced.fires[-1].fire_time == now
    assert coalesced.fires[0].covered_by == now


def test_collect_due_cron_backlog_is_a_lower_bound() -> None:
    trigger = trigger_for(sched(cron="* * * * * *", timezone="UTC"))
    now = T0 + timedelta(seconds=SCAN_LIMIT * 3)
    backlog = collect_due(trigger, T0, now, grace=GRACE, keep=1)
    assert not backlog.omitted_exact and backlog.omitted >= SCAN_LIMIT - 40
    assert backlog.fires[-1] == now and len(backlog.fires) == 32


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(milliseconds=850), "850ms"),
        (timedelta(seconds=12.34), "12.3s"),
        (timedelta(minutes=5, seconds=10), "5m 10s"),
        (timedelta(hours=2, minutes=5), "2h 5m"),
        (timedelta(days=3, hours=4, minutes=1), "3d 4h"),
        (timedelta(hours=1), "1h"),
    ],
)
def test_span(delta: timedelta, text: str) -> None:
    assert span(delta) == text
