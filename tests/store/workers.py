"""Child processes for the store tests: `python -m tests.store.workers COMMAND ARGS…`.

Each one is a separate OS process with its own `Store`, as the console, the daemon and CLI
commands are. They report through a JSON file (or stdout) and never raise past `main`:
every exception is written down, so the parent can insist that there were none.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

GO_TIMEOUT_S = 60.0


def expected_line(writer_id: int, run_id: int, seq: int) -> str:
    """The text writer `writer_id` stores as line `seq` of run `run_id`."""
    return f'w{writer_id} run {run_id} line {seq}: Grüße, "quoted" text 日本 ' + "x" * (seq % 37)


def expected_level(seq: int) -> int:
    return 40 if seq % 50 == 0 else 30 if seq % 7 == 0 else 20


def writer_of(task_key: str) -> int:
    """Writers name their tasks `wN/…`."""
    return int(task_key.split("/", 1)[0][1:])


def wait_for(go_file: Path) -> None:
    """Start together: spin until the parent creates `go_file`."""
    deadline = time.monotonic() + GO_TIMEOUT_S
    while not go_file.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{go_file} never appeared")
        time.sleep(0.001)


class _Collect(logging.Handler):
    """Keeps warnings the store logs (a log flush that had to be retried, say)."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"logged {record.levelname}: {record.getMessage()}")


# -- commands ----------------------------------------------------------------------------


def cmd_open(db: str, go_file: str) -> None:
    """Open (and so create and migrate) a state file at the same moment as others."""
    from duftui.store.db import Store

    print("ready", flush=True)
    wait_for(Path(go_file))
    try:
        store = Store(Path(db))
        version = store.schema_version
        store.close()
        print(json.dumps({"version": version}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": repr(exc)}), flush=True)


def cmd_writer(db: str, writer_id: str, seconds: str, go_file: str, out: str) -> None:
    """Insert runs, move them through their states and log lines, for `seconds`."""
    from sqlalchemy import update

    from duftui.store.db import Store
    from duftui.store.logwriter import LogWriter
    from duftui.store.runs import RUN, insert_run
    from duftui.store.states import RunStatus, Trigger
    from duftui.store.timestamps import utcnow

    wid = int(writer_id)
    errors: list[str] = []
    logging.getLogger("duftui").addHandler(_Collect(errors))
    rng = random.Random(wid)
    runs: dict[int, int] = {}  # run id -> lines written
    finished: list[int] = []
    targets: dict[int, int] = {}
    active: list[int] = []
    store = Store(Path(db))
    writer = LogWriter(store)
    wait_for(Path(go_file))
    deadline = time.monotonic() + float(seconds)

    def set_status(run_id: int, **values: Any) -> None:
        with store.write() as conn:
            conn.execute(update(RUN).where(RUN.c.id == run_id).values(**values))

    def finish(run_id: int) -> None:
        writer.close_run(run_id)
        set_status(run_id, status=RunStatus.SUCCEEDED, finished_at=utcnow(), exit_code=0)
        active.remove(run_id)
        finished.append(run_id)

    def add_lines(run_id: int, count: int) -> None:
        first = runs[run_id] + 1
        seqs = range(first, first + count)
        if rng.random() < 0.5:
            for seq in seqs:
                writer.add(run_id, "stdout", expected_level(seq), expected_line(wid, run_id, seq))
        else:
            writer.add_block(
                run_id,
                "stderr",
                [expected_line(wid, run_id, seq) for seq in seqs],
                [expected_level(seq) for seq in seqs],
            )
        runs[run_id] += count

    while time.monotonic() < deadline:
        try:
            if len(active) < 3:
                with store.write() as conn:
                    run_id = insert_run(
                        conn, task_key=f"w{wid}/task-{len(runs) % 5}", trigger=Trigger.CLI
                    )
                runs[run_id] = 0
                targets[run_id] = rng.randint(1, 400)
                active.append(run_id)
                set_status(run_id, status=RunStatus.RUNNING, started_at=utcnow(), pid=os.getpid())
            run_id = rng.choice(active)
            add_lines(run_id, min(rng.randint(1, 60), targets[run_id] - runs[run_id]) or 1)
            if runs[run_id] >= targets[run_id]:
                finish(run_id)
            if rng.random() < 0.02:
                writer.sync(timeout=60)
        except Exception:
            errors.append(traceback.format_exc())
    try:
        for run_id in list(active):
            finish(run_id)
        writer.sync(timeout=60)
        writer.stop()
        store.close()
    except Exception:
        errors.append(traceback.format_exc())
    Path(out).write_text(json.dumps({"runs": runs, "finished": finished, "errors": errors}))


def cmd_reader(db: str, seconds: str, go_file: str, out: str) -> None:
    """Read continuously: lists, counts, logs; check every line it sees is whole."""
    from duftui.store.db import ChangeWatcher, Store
    from duftui.store.logs import lines_after, read_lines, tail
    from duftui.store.runs import RunFilter, count_runs, list_runs

    errors: list[str] = []
    logging.getLogger("duftui").addHandler(_Collect(errors))
    stats = {"iterations": 0, "lines_checked": 0, "fresh_opens": 0, "max_count": 0}
    wait_for(Path(go_file))
    store = Store(Path(db))
    watcher = ChangeWatcher(Path(db))
    deadline = time.monotonic() + float(seconds)
    last_count = 0

    def check(task_key: str, run_id: int, lines: list[Any], start: int) -> None:
        wid = writer_of(task_key)
        for offset, line in enumerate(lines):
            seq = start + offset
            if line.seq != seq or line.text != expected_line(wid, run_id, seq):
                errors.append(f"run {run_id}: expected line {seq}, read {line!r}")
                return
            if line.level != expected_level(seq):
                errors.append(f"run {run_id} line {seq}: level {line.level}")
                return
        stats["lines_checked"] += len(lines)

    while time.monotonic() < deadline:
        try:
            stats["iterations"] += 1
            watcher.changed()
            with store.read() as conn:
                count = count_runs(conn)
                if count < last_count:
                    errors.append(f"run count went down from {last_count} to {count}")
                last_count = count
                count_runs(conn, RunFilter(statuses=["running"]))
                recent = list_runs(conn, limit=20)
                for run in recent[:4]:
                    assert run.id is not None
                    lines = read_lines(conn, run.id, 1, 300)
                    check(run.task_key, run.id, lines, 1)
                    if lines:
                        middle = lines[len(lines) // 2].seq
                        check(run.task_key, run.id, lines_after(conn, run.id, middle - 1), middle)
                    last = tail(conn, run.id, 25)
                    if last:
                        check(run.task_key, run.id, last, last[0].seq)
            if stats["iterations"] % 25 == 0:
                # Open, query and close, as a short-lived CLI command does.
                fresh = Store(Path(db), create=False)
                with fresh.read() as conn:
                    list_runs(conn, RunFilter(triggers=["cli"]), limit=5)
                fresh.close()
                stats["fresh_opens"] += 1
        except Exception:
            errors.append(traceback.format_exc())
    stats["max_count"] = last_count
    watcher.close()
    store.close()
    Path(out).write_text(json.dumps({"errors": errors, **stats}))


def _memory_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc.

    Not `ru_maxrss`: that survives exec, so a child would report its parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cmd_export_rss(db: str, mode: str, target: str) -> None:
    """Peak RSS growth (KiB) of one export, measured after a warm-up export."""
    from duftui.store.db import Store
    from duftui.store.export import export_csv, export_json, export_sql
    from duftui.store.runs import RunFilter

    store = Store(Path(db), create=False)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        export_csv(store, sink, RunFilter(run_ids=[1, 2, 3]))
        export_json(store, sink, RunFilter(run_ids=[1, 2, 3]))
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now
    before = _memory_kb("VmRSS")
    count = 0
    if mode == "fetchall":
        sql, params = export_sql()
        with store.raw() as conn:
            rows = conn.execute(sql, params).fetchall()
            count = len(rows)
    else:
        writer = export_csv if mode == "csv" else export_json
        with open(target, "w", encoding="utf-8", newline="") as out:
            count = writer(store, out)
    peak = _memory_kb("VmHWM")
    store.close()
    print(json.dumps({"count": count, "growth_kb": peak - before, "peak_kb": peak}))


COMMANDS = {
    "open": cmd_open,
    "writer": cmd_writer,
    "reader": cmd_reader,
    "export-rss": cmd_export_rss,
}


def main() -> None:
    command, *args = sys.argv[1:]
    COMMANDS[command](*args)


if __name__ == "__main__":
    main()
