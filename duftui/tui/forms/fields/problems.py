"""Putting located problems next to the fields they are about.

`validate_task` and friends name each problem's field with its definition path
("schedule[0].cron", "params.who.default", "source"); field rows and groups carry the
same paths. A problem goes to the deepest target whose path contains it, else to the
first target inside the group it names, else only to the form's summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from duftui.definitions.problems import Problem
from duftui.tui.forms.fields.field_row import ErrorTarget


def within(field: str, path: str) -> bool:
    """Whether `field` is `path` or lies below it ("run.connections[0]" in "run.connections")."""
    return field == path or field.startswith((f"{path}.", f"{path}["))


def place(
    problems: Sequence[Problem], targets: Sequence[ErrorTarget]
) -> tuple[dict[int, list[str]], list[Problem]]:
    """Messages per target (by position in `targets`) and the problems no field shows."""
    placed: dict[int, list[str]] = {}
    unplaced: list[Problem] = []
    for problem in problems:
        field = problem.field
        chosen: int | None = None
        if field:
            holders = [i for i, t in enumerate(targets) if t.path and within(field, t.path)]
            if holders:
                chosen = max(holders, key=lambda i: len(targets[i].path))
            else:
                chosen = next(
                    (i for i, t in enumerate(targets) if t.path and within(t.path, field)), None
                )
        if chosen is None:
            unplaced.append(problem)
            continue
        path = targets[chosen].path
        text = problem.message if field == path else f"{field}: {problem.message}"
        if problem.line:
            text += f"  (line {problem.line})"
        if not problem.is_error:
            text += " (warning)"
        placed.setdefault(chosen, []).append(text)
    return placed, unplaced


def summary(problems: Sequence[Problem], limit: int = 3) -> str:
    """The first problems as `duftui validate` prints them, and how many more there are."""
    if not problems:
        return ""
    errors = sum(1 for p in problems if p.is_error)
    head = (
        f"✗ not saved: {errors} problem{'s' if errors != 1 else ''} to fix"
        if errors
        else "warnings (saving is allowed):"
    )
    lines = [head, *(str(p) for p in problems[:limit])]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more (marked ✗ in the tabs)")
    return "\n".join(lines)
