"""One log line (or a few) per schedule and moment, however many fires it handled."""

from __future__ import annotations

import logging
from collections import Counter

from duftui.definitions.loader import Catalogue
from duftui.schedule.misfire import ERROR, QUEUED
from duftui.schedule.scheduler import FireReport


def describe_report(report: FireReport) -> list[tuple[int, str]]:
    """(level, line) pairs for the daemon log: queued fires at INFO, anything that did not
    run (skipped, coalesced, error) at WARNING or ERROR with its reason."""
    key = report.entry.key
    trigger = report.entry.trigger
    if report.conflict:
        return [(logging.WARNING, f"{key}: {report.conflict}; continuing after it")]
    lines = [(logging.WARNING, f"{key}: {warning}") for warning in report.plan.warnings]
    results = report.results
    if not results:
        return lines

    def when(index: int) -> str:
        return trigger.local(results[index].fire_time).isoformat(timespec="seconds")

    if len(results) == 1:
        result = results[0]
        if result.outcome == QUEUED:
            runs = ", ".join(f"#{run_id}" for run_id in result.run_ids)
            extra = f" ({result.reason})" if result.reason else ""
            lines.append(
                (
                    logging.INFO,
                    f"fired {key} at {when(0)}: run {runs} (batch {result.batch_id}){extra}",
                )
            )
        else:
            level = logging.ERROR if result.outcome == ERROR else logging.WARNING
            lines.append((level, f"{key} at {when(0)}: {result.outcome}: {result.reason}"))
        return lines
    counts = Counter(result.outcome for result in results)
    runs = sorted({run_id for r in results if r.outcome == QUEUED for run_id in r.run_ids})
    parts = [f"{count} {outcome}" for outcome, count in sorted(counts.items())]
    shown_runs = ", ".join(f"#{run_id}" for run_id in runs[:10]) + (" …" if len(runs) > 10 else "")
    level = (
        logging.ERROR
        if counts.get(ERROR)
        else (
            logging.INFO
            if set(counts) == {QUEUED} and all(r.reason is None for r in results)
            else logging.WARNING
        )
    )
    lines.append(
        (
            level,
            f"{key}: {len(results)} fires due at once ({when(0)} to {when(-1)}): "
            + ", ".join(parts)
            + (f"; runs {shown_runs}" if runs else ""),
        )
    )
    reasons = {}
    for result in results:
        if result.reason and result.outcome not in reasons:
            reasons[result.outcome] = result.reason
    for outcome, reason in reasons.items():
        lines.append((level, f"{key}: {outcome}: {reason}"))
    return lines


def schedule_problems(catalogue: Catalogue, owners: set[str]) -> list[str]:
    """Why the schedules of `owners` (task or project keys) cannot be listed: the owner's
    definition errors, and schedules whose fire times cannot be computed. `schedule next`
    prints these and fails, rather than saying "no fires" about a broken schedule."""
    from duftui.definitions.problems import field_name
    from duftui.schedule.triggers import TriggerError, trigger_for

    found: list[str] = []
    for owner in sorted(owners):
        if owner in catalogue.tasks:
            entry = catalogue.tasks[owner]
            found.extend(str(p) for p in entry.problems if p.is_error)
            schedules = entry.spec.schedule if entry.spec else []
            rel = entry.rel
            line_of = entry.line_of
        elif owner in catalogue.projects:
            project = catalogue.projects[owner]
            found.extend(str(p) for p in project.problems if p.is_error)
            schedules = project.spec.schedule
            rel = f"{project.rel}/project.toml"
            line_of = None
        else:
            continue
        for index, schedule in enumerate(schedules):
            try:
                trigger_for(schedule)
            except TriggerError as exc:
                where = ("schedule", index, "cron")
                line = line_of(where) if line_of else None
                found.append(f"{rel}:{line}: {field_name(where)}: {exc}" if line else
                             f"{rel}: {field_name(where)}: {exc}")
    return found
