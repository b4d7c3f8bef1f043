"""A run's files after the fact: list them, re-check their md5, deliver them again.

Core logic for `duftui outputs / verify / resend` and the console's Run screen: no click,
no Textual. Re-sending uses the task's current `[[deliver]]` targets and connections
(secrets resolved as for a run) and records each delivery in `output_file.delivered_to`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from duftui.definitions.loader import Catalogue
from duftui.definitions.secrets import SecretStore
from duftui.engine.launch import LaunchError, Resolver, connection_values
from duftui.engine.templates import logical_local
from duftui.steps.deliver import deliver_to
from duftui.steps.errors import RunMissing, StepError
from duftui.steps.report import Reporter
from duftui.store.db import Store
from duftui.store.outputs import add_delivery, file_md5, outputs_of
from duftui.store.runs import get_run
from duftui.store.tables import OutputFile, Run
from duftui.store.timestamps import utcnow

OK, CHANGED, MISSING, UNKNOWN = "ok", "changed", "missing", "no md5"
STAGE_ORDER = ("output", "processed", "source")


@dataclass(frozen=True)
class Check:
    """One file's md5 check: `state` is ok, changed, missing or "no md5" (none recorded)."""

    file: OutputFile
    state: str
    actual: str | None = None

    @property
    def bad(self) -> bool:
        return self.state in (CHANGED, MISSING)


def delivered_to(row: OutputFile) -> list[str]:
    try:
        value = json.loads(row.delivered_to or "[]")
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def load_run(store: Store, run_id: int) -> tuple[Run, list[OutputFile]]:
    with store.read() as conn:
        run = get_run(conn, run_id)
        if run is None:
            raise RunMissing(f"no run #{run_id}")
        return run, outputs_of(conn, run_id)


def check_file(row: OutputFile) -> Check:
    path = Path(row.path)
    if not path.is_file():
        return Check(row, MISSING)
    actual = file_md5(path)
    if not row.md5:
        return Check(row, UNKNOWN, actual)
    return Check(row, OK if actual == row.md5 else CHANGED, actual)


def verify_run(store: Store, run_id: int) -> list[Check]:
    """Re-compute the md5 of every file the run recorded."""
    _run, rows = load_run(store, run_id)
    return [check_file(row) for row in rows]


def files_to_resend(rows: list[OutputFile]) -> list[OutputFile]:
    """The files the run delivered; when it delivered none, its last-stage files."""
    delivered = [row for row in rows if delivered_to(row)]
    if delivered:
        return delivered
    for stage in STAGE_ORDER:
        found = [row for row in rows if row.stage == stage]
        if found:
            return found
    return []


def resend_run(
    store: Store,
    catalogue: Catalogue,
    secrets: SecretStore,
    run_id: int,
    reporter: Reporter,
    *,
    target: int | None = None,
    force: bool = False,
) -> list[tuple[str, str]]:
    """Deliver a run's files again; returns (file, where) pairs. A file whose md5 changed
    since the run is refused unless `force`."""
    run, rows = load_run(store, run_id)
    entry = catalogue.tasks.get(run.task_key)
    if entry is None or entry.spec is None:
        raise StepError(f"task {run.task_key} of run {run_id} is not defined (or has errors)")
    targets = list(enumerate(entry.spec.deliver))
    if not targets:
        raise StepError(f"task {run.task_key} has no [[deliver]] targets")
    if target is not None:
        if not 0 <= target < len(targets):
            raise StepError(
                f"task {run.task_key} has deliver[0]…deliver[{len(targets) - 1}]; "
                f"there is no deliver[{target}]"
            )
        targets = [targets[target]]
    chosen = files_to_resend(rows)
    if not chosen:
        raise StepError(f"run {run_id} recorded no files")
    for check in (check_file(row) for row in chosen):
        if check.state == MISSING:
            raise StepError(f"{check.file.path} is gone; it cannot be sent again")
        if check.state == CHANGED and not force:
            raise StepError(
                f"{check.file.path} changed since run {run_id} (md5 {check.actual} "
                f"≠ {check.file.md5}); use --force to send it anyway"
            )
    resolver = Resolver(secrets)
    connections = {}
    for _field, name in entry.spec.connections_used():
        connection = catalogue.connections.get(name)
        if connection is not None:
            try:
                connections[name] = connection_values(name, connection, catalogue.root, resolver)
            except LaunchError as exc:
                raise StepError(str(exc)) from None
    at = logical_local(run.logical_time or utcnow(), run.logical_tz)
    by_path = {Path(row.path): row for row in chosen}
    sent: list[tuple[str, str]] = []

    def record(path: Path, where: str) -> None:
        row = by_path[path]
        assert row.id is not None
        with store.write() as conn:
            add_delivery(conn, row.id, where)
        sent.append((path.name, where))

    for index, spec in targets:
        deliver_to(
            index,
            spec,
            list(by_path),
            at=at,
            connections=connections,
            workspace=catalogue.root,
            reporter=reporter,
            record=record,
        )
    return sent
