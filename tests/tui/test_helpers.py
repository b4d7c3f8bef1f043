"""The console's pure helpers, with fixed datetimes: next fires, the History filter line,
the log block cache and level index, the dashboard queries, and value formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from duftui.definitions.schedules import Schedule
from duftui.store.dashboard import (
    attention_runs,
    daemon_state,
    latest_runs,
    read_pulse,
    running_runs,
    success_rates,
    task_outputs,
)
from duftui.store.db import Store
from duftui.store.logs import LogLine
from duftui.tui import format as fmt
from duftui.tui.fires import next_fires, upcoming
from duftui.tui.history_filter import FilterError, describe, parse_filter
from duftui.tui.logsource import BLOCK, LevelIndex, LogBlocks, block_of
from tests.tui.seed import FIXED_NOW, IDS, seed_history

AMS = ZoneInfo("Europe/Amsterdam")


def schedule(**fields: object) -> Schedule:
    return Schedule.model_validate(fields)


class TestNextFires:
    def test_six_field_cron_has_seconds_first(self) -> None:
        fires = next_fires(schedule(cron="0 15 6 * * *"), FIXED_NOW, count=2, default_tz=UTC)
        assert [at for at, _ in fires] == [
            datetime(2026, 3, 3, 6, 15, tzinfo=UTC),
            datetime(2026, 3, 4, 6, 15, tzinfo=UTC),
        ]

    def test_cron_in_its_own_time_zone(self) -> None:
        fires = next_fires(
            schedule(cron="0 30 6 * * 1-5", timezone="Europe/Amsterdam"),
            FIXED_NOW,
            count=1,
            default_tz=UTC,
        )
        assert fires[0][0].astimezone(UTC) == datetime(2026, 3, 3, 5, 30, tzinfo=UTC)

    def test_spring_forward_gap_fires_once_after_it(self) -> None:
        after = datetime(2026, 3, 28, 12, 0, tzinfo=AMS)
        fires = next_fires(
            schedule(cron="30 2 * * *", timezone="Europe/Amsterdam"), after, count=2, default_tz=UTC
        )
        days = [at.astimezone(AMS).date().day for at, _ in fires]
        assert len(set(days)) == 2  # never twice on one day

    def test_interval_without_anchor_is_marked_approximate(self) -> None:
        fires = next_fires(schedule(every="15m"), FIXED_NOW, count=2, default_tz=UTC)
        assert fires == [
            (FIXED_NOW + timedelta(minutes=15), True),
            (FIXED_NOW + timedelta(minutes=30), True),
        ]

    def test_interval_with_start_is_exact(self) -> None:
        fires = next_fires(
            schedule(every="1h", start="2026-03-02T09:20:00"), FIXED_NOW, count=1, default_tz=UTC
        )
        assert fires == [(datetime(2026, 3, 2, 10, 20, tzinfo=UTC), False)]

    def test_one_off_and_end_and_disabled(self) -> None:
        assert next_fires(schedule(at="2026-03-02T12:00:00"), FIXED_NOW, default_tz=UTC) == [
            (datetime(2026, 3, 2, 12, 0, tzinfo=UTC), False)
        ]
        assert next_fires(schedule(at="2026-03-01T12:00:00"), FIXED_NOW, default_tz=UTC) == []
        assert (
            next_fires(
                schedule(cron="* * * * *", end="2026-03-02T10:03:00"),
                FIXED_NOW,
                count=10,
                default_tz=UTC,
            )[-1][0].minute
            == 3  # end is inclusive
        )
        assert (
            next_fires(schedule(cron="* * * * *", enabled=False), FIXED_NOW, default_tz=UTC) == []
        )

    def test_upcoming_covers_tasks_and_projects_in_the_horizon(self) -> None:
        from duftui.definitions.loader import load_workspace

        catalogue = load_workspace(Path(__file__).parent / "data" / "ws")
        fires = upcoming(catalogue, FIXED_NOW, default_tz=UTC, limit=1000)
        owners = {fire.owner for fire in fires}
        assert {"clinic/daily-visits", "pipeline", "demo/heartbeat"} <= owners
        assert all(FIXED_NOW < fire.at <= FIXED_NOW + timedelta(hours=24) for fire in fires)
        assert fires == sorted(fires, key=lambda f: (f.at, f.owner))


class TestHistoryFilter:
    def test_words(self) -> None:
        flt = parse_filter(
            "project:demo status:failed,lost trigger:manual since:2d until:2026-03-01 batch:7",
            FIXED_NOW,
            UTC,
        )
        assert flt.project == "demo" and flt.batch_id == 7
        assert flt.statuses == ("failed", "lost") and flt.triggers == ("manual",)
        assert flt.since == FIXED_NOW - timedelta(days=2)
        assert flt.until == datetime(2026, 3, 2, tzinfo=UTC)  # the whole of March 1st
        assert "project demo" in describe(flt)

    def test_bare_words_are_tasks_or_projects(self) -> None:
        assert parse_filter("demo/hello", FIXED_NOW, UTC).task_key == "demo/hello"
        assert parse_filter("clinic", FIXED_NOW, UTC).project == "clinic"
        assert describe(parse_filter("", FIXED_NOW, UTC)) == "all runs"

    @pytest.mark.parametrize(
        "text", ["status:nope", "colour:red", "since:yesterdayish", "batch:x", "trigger:cron"]
    )
    def test_mistakes_say_what_is_allowed(self, text: str) -> None:
        with pytest.raises(FilterError):
            parse_filter(text, FIXED_NOW, UTC)


def line(seq: int, level: int = 20) -> LogLine:
    return LogLine(seq, 0.0, "stdout", level, f"line {seq}")


class TestLogBlocks:
    def test_missing_blocks_and_lru(self) -> None:
        blocks = LogBlocks(capacity=2)
        assert blocks.missing([1, BLOCK + 1]) == {0, 1}
        blocks.put(0, [line(s) for s in range(1, BLOCK + 1)])
        blocks.put(1, [line(s) for s in range(BLOCK + 1, BLOCK + 11)])
        assert blocks.line(5) == line(5)
        assert blocks.missing([BLOCK + 5]) == set()
        assert blocks.missing([BLOCK + 20]) == {1}  # the growing end is fetched again
        blocks.put(2, [])
        assert len(blocks) == 2 and blocks.line(BLOCK + 1) is None  # least recent went
        assert block_of(1) == 0 and block_of(BLOCK) == 0 and block_of(BLOCK + 1) == 1

    def test_level_index_maps_rows_to_lines(self) -> None:
        index = LevelIndex(40)
        index.extend([7, 42, 99])
        index.extend([42, 120])  # already known lines are not added twice
        assert list(index.seqs) == [7, 42, 99, 120]
        assert index.seq_at(1) == 42 and index.seq_at(9) is None
        assert index.index_of(43) == 2 and index.index_of(500) == 3


@pytest.fixture
def seeded_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "state.db")
    seed_history(store, tmp_path)
    yield store
    store.close()


class TestDashboardQueries:
    def test_running_attention_and_rates(self, seeded_store: Store) -> None:
        with seeded_store.read() as conn:
            assert [r.id for r in running_runs(conn)] == [IDS["heartbeat"]]
            assert {r.id for r in attention_runs(conn)} == {IDS["dead"], IDS["flaky-retry"]}
            rates = success_rates(conn, FIXED_NOW)
            assert (rates["demo"].ok_24h, rates["demo"].total_24h) == (1, 2)
            assert (rates["demo"].ok_7d, rates["demo"].total_7d) == (7, 8)
            assert "greet" not in str(rates)  # cancelled runs do not count
            latest = latest_runs(conn, ["demo/hello", "demo/slow"])
            assert list(latest) == ["demo/hello"] and latest["demo/hello"].id == IDS["hello"]
            outputs = task_outputs(conn, "clinic/daily-visits")
            assert [o.file.size for o in outputs] == [9_871, 48_213]
            assert daemon_state(conn).status == "not running"

    def test_pulse_sees_new_runs_and_new_lines(self, seeded_store: Store) -> None:
        from sqlalchemy import text

        with seeded_store.read() as conn:
            before = read_pulse(conn)
        with seeded_store.write() as conn:
            conn.execute(
                text("UPDATE run SET log_lines = 99 WHERE id = :i"), {"i": IDS["heartbeat"]}
            )
        with seeded_store.read() as conn:
            lines_only = read_pulse(conn)
        assert not lines_only.runs_changed(before)
        assert lines_only.run_changed(before, IDS["heartbeat"])
        assert not lines_only.run_changed(before, IDS["hello"])
        with seeded_store.write() as conn:
            conn.execute(
                text("UPDATE run SET status = 'succeeded' WHERE id = :i"), {"i": IDS["heartbeat"]}
            )
        with seeded_store.read() as conn:
            assert read_pulse(conn).runs_changed(lines_only)


class TestFormat:
    def test_times_and_sizes(self) -> None:
        assert fmt.when(FIXED_NOW, UTC, FIXED_NOW) == "10:00:00"
        assert fmt.when(FIXED_NOW - timedelta(days=1), UTC, FIXED_NOW) == "Mar 01 10:00"
        assert fmt.when(FIXED_NOW - timedelta(days=400), UTC, FIXED_NOW) == "2025-01-26 10:00"
        assert fmt.soon(FIXED_NOW + timedelta(hours=20), UTC, FIXED_NOW) == "Tue 06:00"
        assert fmt.ago(FIXED_NOW - timedelta(minutes=90), FIXED_NOW) == "1h ago"
        assert fmt.ago(FIXED_NOW + timedelta(seconds=30), FIXED_NOW) == "in 30s"
        assert fmt.size(512) == "512 B" and fmt.size(48_213) == "47.1 KiB"
        assert fmt.percent(7, 8) == "88% (7/8)" and fmt.percent(0, 0) == "—"
        assert fmt.first_line("\n  boom \nmore") == "boom"
        assert fmt.escape("[b]x[/b]") == "\\[b]x\\[/b]"
