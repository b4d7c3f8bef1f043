"""Date templates checked when definitions load, not when a run first expands them.

strftime passes a directive it does not know through unchanged (`parse(%Q)` gives "%Q"),
so a typo would only show as a wrong file name; arithmetic on a directive that cannot move
(`%p+1`) fails at run time. Both are reported with the field that holds the template.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from duftui.definitions.durations import quoted

if TYPE_CHECKING:
    from duftui.definitions.models import Project, Task

# Python's strftime directives and the glibc ones it passes on (%e, %k, %s, %F …).
KNOWN_DIRECTIVES = frozenset("aAbBcdfGHIjmMpSuUVwWxXyYzZ%eklsnCDFghPrRTt")
_PARSE = re.compile(r"parse\(([^()]*)\)")
_DIRECTIVE = re.compile(r"%-?(.)", re.DOTALL)
_SAMPLE_TIME = datetime(2026, 1, 31, 12, 0, 0)

Found = list[tuple[tuple[str | int, ...], str]]


def template_problem(text: str, bare: bool) -> str | None:
    """Why `text` cannot be expanded as a template, or None. `bare`: file names and paths,
    where directives outside `parse(…)` are expanded too."""
    if "%" not in text:
        return None
    formats = [match.group(1) for match in _PARSE.finditer(text)]
    if bare:
        formats.append(_PARSE.sub("", text))
    for fmt in formats:
        for match in _DIRECTIVE.finditer(fmt):
            if match.group(1) not in KNOWN_DIRECTIVES:
                return (
                    f"unknown date directive %{match.group(1)} in {quoted(text)}; use "
                    "strftime directives such as %Y, %m, %d, %H, %M, %S (write %% for a "
                    "literal %)"
                )
    from duftui.engine.templates import TemplateError, expand, expand_name

    try:
        (expand_name if bare else expand)(text, _SAMPLE_TIME)
    except TemplateError as exc:
        return str(exc)
    except (ValueError, OverflowError) as exc:  # a date out of range, e.g. parse(%Y+9000)
        return f"cannot expand {quoted(text)}: {exc}"
    return None


def _texts(spec: Task | Project) -> Iterator[tuple[tuple[str | int, ...], Any, bool]]:
    for name, param in spec.params.items():
        yield ("params", name, "default"), param.default, False
    for index, schedule in enumerate(spec.schedule):
        for name, value in schedule.params.items():
            yield ("schedule", index, "params", name), value, False
    source = getattr(spec, "source", None)
    if source is not None:
        yield ("source", "path"), source.path, True
        yield ("source", "query"), source.query, False
        yield ("source", "command"), source.command, False
    output = getattr(spec, "output", None)
    if output is not None:
        yield ("output", "name"), output.name, True
        yield ("output", "zip_name"), output.zip_name, True
    for index, target in enumerate(getattr(spec, "deliver", [])):
        yield ("deliver", index, "path"), target.path, True
    notify = getattr(spec, "notify", None)
    if notify is not None:
        yield ("notify", "subject"), notify.subject, False
        yield ("notify", "body"), notify.body, False


def template_problems(spec: Task | Project) -> Found:
    """(field path, message) for every template in `spec` that cannot be expanded."""
    found: Found = []
    for where, value, bare in _texts(spec):
        if isinstance(value, str):
            problem = template_problem(value, bare)
            if problem:
                found.append((where, problem))
    return found
