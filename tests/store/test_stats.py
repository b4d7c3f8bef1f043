"""`duftui stats`: values checked against ones computed by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from duftui.store.stats import percentile, sparkline
from duftui.store.timestamps import to_iso
from tests.conftest import Cli
from tests.store.test_prune import History

# p/a: seven runs. Durations 10, 20, 30, 40, 100 s succeeded; one failed after 50 s; one
# cancelled; one skipped; one still queued (not counted).
RUNS = [
    ("succeeded", 10, 1.0, 1000),
    ("succeeded", 20, 2.0, 3000),
    ("failed", 50, 5.0, 2000),
    ("succeeded", 30, 3.0, 1500),
    ("cancelled", 5, 0.5, 100),
    ("succeeded", 40, 4.0, 8000),
    ("skipped", None, None, None),
    ("succeeded", 100, 10.0, 500),
]


def _seed(history: History) -> None:
    base = datetime.now(UTC) - timedelta(days=2)
    for index, (status, seconds, cpu, rss) in enumerate(RUNS):
        queued = base + timedelta(hours=index)
        run_id = history.run("p/a", 0, status, lines=0, folder=False)
        started = to_iso(queued) if seconds is not None else None
        finished = to_iso(queued + timedelta(seconds=seconds or 0))
        history.db.execute(
            "UPDATE run SET queued_at = ?, started_at = ?, finished_at = ?, cpu_user_s = ?, "
            "cpu_sys_s = ?, max_rss_kb = ? WHERE id = ?",
            (to_iso(queued), started, finished, cpu and cpu * 0.75, cpu and cpu * 0.25, rss,
             run_id),
        )
    history.run("p/a", 0, "queued", lines=0, folder=False)
    old = history.run("p/b", 0, "failed", lines=0, folder=False)
    history.db.execute("UPDATE run SET queued_at = ? WHERE id = ?",
                       (to_iso(base - timedelta(days=60)), old))


def test_stats_match_hand_computed_values(tmp_path: Path) -> None:
    history = History(tmp_path / "ws")
    (history.root / "tasks" / "p").mkdir(parents=True)
    (history.root / "tasks" / "p" / "a.toml").write_text(
        'name = "a"\n[run]\nkind = "command"\ncommand = ["true"]\n')
    try:
        _seed(history)
        result = Cli(history.root)("stats", "--json")
        assert result.exit_code == 0, result.output
        (a,) = json.loads(result.stdout)  # p/b's only run is older than 30 days
        assert a["task"] == "p/a"
        assert (a["runs"], a["succeeded"], a["failed"], a["cancelled"], a["skipped"]) == (
            8, 5, 1, 1, 1)
        assert a["success_rate"] == 5 / 6
        # Durations of runs with an outcome: 10 20 50 30 40 100 -> sorted 10 20 30 40 50 100.
        assert a["p50_s"] == 35.0  # halfway between 30 and 40
        assert a["p95_s"] == 50 + (100 - 50) * 0.75  # rank 4.75
        assert a["max_s"] == 100.0
        # CPU of the seven runs that have it: (1+2+5+3+0.5+4+10)/7.
        assert abs(a["mean_cpu_s"] - 25.5 / 7) < 1e-9
        assert a["peak_rss_kb"] == 8000
        assert a["recent_durations_s"] == [10.0, 20.0, 50.0, 30.0, 40.0, 100.0]
        assert a["sparkline"] == "▁▂▄▃▃█"
        text = Cli(history.root)("stats", "p/a").stdout.splitlines()
        assert text[0].split() == ["TASK", "RUNS", "OK", "P50", "P95", "MAX", "CPU", "RSS",
                                   "LAST", "OK", "LAST", "30"]
        assert text[1].split()[:8] == ["p/a", "8", "83%", "35.0s", "1.5m", "1.7m", "3.6s", "8M"]
        assert Cli(history.root)("stats", "p/nope").exit_code == 4
    finally:
        history.close()


def test_percentile_and_sparkline_by_hand() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert sparkline([]) == ""
    assert sparkline([3.0, 3.0]) == "▄▄"
    assert sparkline([0.0, 7.0, 3.5]) == "▁█▅"
