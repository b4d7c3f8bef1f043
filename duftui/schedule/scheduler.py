"""The scheduler: keeps the schedule table, says when the next fire is due and fires what
is due, one write transaction for everything due at the same moment.

Blocking (SQLite) and clock-free: the caller passes `now`, so tests drive it with fixed
datetimes and the daemon calls it from a worker thread.
"""

from __future__ import annotations

import heapq
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from sqlalchemy import Connection, NestedTransaction
from sqlalchemy.exc import IntegrityError

from duftui.definitions.loader import Catalogue
from duftui.definitions.secrets import SecretStore
from duftui.schedule import lease
from duftui.schedule.misfire import Plan, collect_due, plan_backlog
from duftui.schedule.record import (
    FireResult,
    StateConflict,
    advance_state,
    load_states,
    record_fires,
    save_states,
)
from duftui.schedule.table import Entry, build_table
from duftui.schedule.zones import local_zone
from duftui.store.audit import current_user
from duftui.store.db import Store

_LOG = logging.getLogger("duftui.schedule")


class LeaseLost(RuntimeError):
    """This process no longer holds the daemon lease; it must not fire anything."""


@dataclass
class FireReport:
    """What one schedule did at one moment."""

    entry: Entry
    plan: Plan
    results: list[FireResult] = field(default_factory=list)
    conflict: str | None = None


class Scheduler:
    """Fires schedules into the store. `holder` (the daemon's lease identity) is checked
    in every firing transaction, so a process that lost the lease never fires."""

    def __init__(
        self,
        store: Store,
        *,
        secrets: SecretStore | None = None,
        holder: str | None = None,
        default_zone: tzinfo | None = None,
        default_tz_name: str | None = None,
    ) -> None:
        if default_zone is None:
            default_zone, default_tz_name = local_zone()
        self.store = store
        self.secrets = secrets
        self.holder = holder
        self.default_zone = default_zone
        self.default_tz_name = default_tz_name
        self.entries: dict[str, Entry] = {}
        self.catalogue: Catalogue | None = None
        self._heap: list[tuple[datetime, str]] = []
        self._prepared: dict[str, tuple[datetime, Plan, datetime | None]] = {}
        self._user = current_user()

    def sync(self, catalogue: Catalogue, now: datetime) -> list[str]:
        """Adopt a (re)loaded catalogue; returns problems to report."""
        with self.store.read() as conn:
            states = load_states(conn)
        table = build_table(
            catalogue,
            states,
            now,
            default_zone=self.default_zone,
            default_tz_name=self.default_tz_name,
            previous=self.entries,
        )
        if table.changed or table.removed:
            with self.store.write() as conn:
                self._check_lease(conn)
                save_states(conn, table.changed, table.removed)
        self.catalogue = catalogue
        self.entries = table.entries
        self._heap = [(e.pending, key) for key, e in self.entries.items() if e.pending]
        heapq.heapify(self._heap)
        return table.problems

    def next_due(self) -> datetime | None:
        """The earliest unhandled fire of any schedule."""
        while self._heap:
            at, key = self._heap[0]
            entry = self.entries.get(key)
            if entry is not None and entry.pending == at:
                return at
            heapq.heappop(self._heap)
        return None

    def prepare(self, at: datetime) -> None:
        """Plan the fires due at `at` before it comes (as if handled right on time), so
        that at `at` only the writes are left; `fire_due` replans anything that changed."""
        due: list[Entry] = []
        while (first := self.next_due()) is not None and first <= at:
            _, key = heapq.heappop(self._heap)
            due.append(self.entries[key])
        for entry in due:
            heapq.heappush(self._heap, (entry.pending, entry.key))  # type: ignore[arg-type]
            assert entry.pending is not None
            self._prepared[entry.key] = (
                entry.pending,
                self._plan(entry, at),
                entry.trigger.first_after(at),
            )

    def fire_at(self, due: float) -> list[FireReport]:
        """Fire what is due at the instant `due` (epoch seconds) on time: take the write
        lock and check the lease first, sleep out the last milliseconds in this thread
        (the event loop's timers round to whole milliseconds), then only the inserts are
        left. Waiting for another writer (a heartbeat, a log batch) happens before the
        fire time, not after it."""
        self.prepare(datetime.fromtimestamp(due, UTC))
        with self.store.write() as conn:
            self._check_lease(conn)
            savepoint = conn.begin_nested()  # the fast path's savepoint, also opened early
            try:
                while (remaining := due - time.time()) > 0:
                    time.sleep(remaining)
                return self.fire_due(datetime.now(UTC), conn, savepoint)
            finally:
                if savepoint.is_active:  # nothing was due after all, or an error
                    savepoint.rollback()

    def fire_due(
        self,
        now: datetime,
        conn: Connection | None = None,
        savepoint: NestedTransaction | None = None,
    ) -> list[FireReport]:
        """Handle every fire due at `now`: misfire plans, runs and fire rows, one transaction
        (`conn`'s, when given; `savepoint` is an open savepoint of it to write in)."""
        due: list[Entry] = []
        while (at := self.next_due()) is not None and at <= now:
            _, key = heapq.heappop(self._heap)
            due.append(self.entries[key])
        if not due:
            return []
        prepared, self._prepared = self._prepared, {}
        work = []
        for entry in due:
            ready = prepared.get(entry.key)
            if (
                ready is None
                or ready[0] != entry.pending
                or (ready[2] is not None and ready[2] <= now)
                or now - ready[0] > entry.target.schedule.grace
            ):
                ready = (entry.pending, self._plan(entry, now), entry.trigger.first_after(now))
            work.append((entry, ready[1], ready[2]))
        try:
            try:
                reports = self._write(work, False, conn, savepoint)
            except (IntegrityError, StateConflict):
                reports = self._write(work, True, conn)
        except BaseException:
            for entry in due:  # nothing was written: try these again later
                heapq.heappush(self._heap, (entry.pending, entry.key))  # type: ignore[arg-type]
            raise
        conflicted = [r.entry for r in reports if r.conflict]
        for entry, _plan, new_next in work:
            if entry not in conflicted:
                self._move(entry, new_next)
        if conflicted:
            self._reread(conflicted, now)
        return reports

    def _write(
        self,
        work: list[tuple[Entry, Plan, datetime | None]],
        isolate: bool,
        conn: Connection | None = None,
        savepoint: NestedTransaction | None = None,
    ) -> list[FireReport]:
        """One transaction for all; with `isolate`, a savepoint per schedule so one that
        another daemon already fired does not undo the others (the rare, slow path). In
        `conn`'s transaction the fast path is a savepoint too, so the slow path can follow."""
        if conn is None:
            with self.store.write() as own:
                self._check_lease(own)
                return self._write_in(own, work, isolate)
        if isolate:
            return self._write_in(conn, work, isolate)
        with savepoint or conn.begin_nested():
            return self._write_in(conn, work, isolate)

    def _write_in(
        self, conn: Connection, work: list[tuple[Entry, Plan, datetime | None]], isolate: bool
    ) -> list[FireReport]:
        assert self.catalogue is not None
        reports: list[FireReport] = []
        for entry, plan, new_next in work:
            report = FireReport(entry, plan)
            if not isolate:
                report.results = self._record(conn, entry, plan, new_next)
            else:
                try:
                    with conn.begin_nested():
                        report.results = self._record(conn, entry, plan, new_next)
                except (IntegrityError, StateConflict) as exc:
                    report.conflict = _conflict_text(exc)
            reports.append(report)
        return reports

    # -- helpers -----------------------------------------------------------------------

    def _record(
        self, conn: Connection, entry: Entry, plan: Plan, new_next: datetime | None
    ) -> list[FireResult]:
        assert self.catalogue is not None
        last = plan.fires[-1].fire_time if plan.fires else None
        results = record_fires(  # the runs first: their queue time is the fire's lateness
            conn,
            self.catalogue,
            entry.target,
            plan.fires,
            secrets=self.secrets,
            requested_by=self._user,
        )
        advance_state(conn, entry.key, entry.pending, new_next, last)
        return results

    def _plan(self, entry: Entry, now: datetime) -> Plan:
        schedule = entry.target.schedule
        assert entry.pending is not None
        keep = schedule.max_catchup if schedule.misfire == "all" else 1
        backlog = collect_due(entry.trigger, entry.pending, now, grace=schedule.grace, keep=keep)
        return plan_backlog(
            backlog,
            now,
            policy=schedule.misfire,
            grace=schedule.grace,
            max_catchup=schedule.max_catchup,
        )

    def _move(self, entry: Entry, pending: datetime | None) -> None:
        entry.pending = pending
        if pending is not None:
            heapq.heappush(self._heap, (pending, entry.key))

    def _reread(self, entries: list[Entry], now: datetime) -> None:
        """Someone else fired these: continue from the cursor they stored."""
        with self.store.read() as conn:
            states = load_states(conn)
        for entry in entries:
            stored = states.get(entry.key, (None, None))[1]
            if stored is not None and entry.pending is not None and stored <= entry.pending:
                stored = entry.trigger.first_after(now)
            self._move(entry, stored)

    def _check_lease(self, conn: Connection) -> None:
        if self.holder is not None and not lease.holds(conn, self.holder):
            raise LeaseLost("this daemon no longer holds the lease")


def _conflict_text(exc: Exception) -> str:
    if isinstance(exc, StateConflict):
        return str(exc)
    return "a fire was already recorded (UNIQUE schedule_key, fire_time): another daemon fired it"
