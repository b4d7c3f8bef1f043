"""Parameter resolution (DESIGN §5.3).

Precedence, lowest first: the project's `[params]` (inherited), the task's own default,
the firing schedule's `params`, then a manual override — accepted only for parameters
that say `allow_override = true`. String values have their `parse(…)` templates expanded
at the run's logical time. Secret parameters resolve their references here and are
replaced by ******** in everything that is stored or shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from duftui.definitions.common import SecretRef
from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.definitions.models import Param
from duftui.definitions.secrets import MASK, SecretError, SecretStore, resolve_ref
from duftui.engine.templates import Secret, TemplateError, expand
from duftui.locations import secrets_file


class ParamError(ValueError):
    """A parameter cannot be resolved or overridden; the message names it."""


@dataclass
class ResolvedParams:
    """Parameter values for one run."""

    values: dict[str, Any] = field(default_factory=dict)
    secret_names: set[str] = field(default_factory=set)
    secret_values: set[str] = field(default_factory=set)
    sources: dict[str, str] = field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        """What may be written to the database or shown: secrets masked."""
        return {k: (MASK if k in self.secret_names else v) for k, v in self.values.items()}

    def environment(self) -> dict[str, str]:
        """One environment variable per parameter (Atlas and DUFT scripts read these)."""
        return {name: as_env_value(value) for name, value in self.values.items()}


def as_env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def declared_params(catalogue: Catalogue, entry: TaskEntry) -> dict[str, tuple[Param, str]]:
    """Every parameter a task sees, with where its declaration came from."""
    out: dict[str, tuple[Param, str]] = {}
    project = catalogue.projects.get(entry.project)
    if project:
        for name, param in project.spec.params.items():
            out[name] = (param, "project")
    if entry.spec:
        for name, param in entry.spec.params.items():
            out[name] = (_merge(out[name][0], param) if name in out else param, "task")
    return out


def _merge(base: Param, own: Param) -> Param:
    """A task may redeclare a project parameter, keeping what it does not restate."""
    data = base.model_dump()
    data.update(own.model_dump(exclude_unset=True))
    return Param.model_validate(data)


def name_params(
    catalogue: Catalogue, entry: TaskEntry, values: Mapping[str, Any]
) -> dict[str, Any]:
    """A run's parameter values as output file names may use them: secret ones (declared
    secret, or given by reference) stand as `Secret`, so a name refuses to show them."""
    declared = declared_params(catalogue, entry)
    out: dict[str, Any] = {}
    for name, value in values.items():
        param = declared.get(name, (None, ""))[0]
        hidden = param is not None and (param.secret or isinstance(param.default, SecretRef))
        out[name] = Secret() if hidden or value == MASK else value
    return out


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`-p key=value` pairs from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParamError(f"expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


def resolve_params(
    catalogue: Catalogue,
    entry: TaskEntry,
    *,
    at: datetime,
    schedule_params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    secrets: SecretStore | None = None,
    resolve_secrets: bool = True,
) -> ResolvedParams:
    """Resolve a task's parameters at logical time `at` (an aware, wall-clock datetime)."""
    declared = declared_params(catalogue, entry)
    result = ResolvedParams()
    for name, (param, origin) in declared.items():
        result.values[name] = param.default
        result.sources[name] = origin
        if param.secret:
            result.secret_names.add(name)
    for name, value in (schedule_params or {}).items():
        result.values[name] = value
        result.sources[name] = "schedule"
    for name, value in (overrides or {}).items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ParamError(f"unknown parameter {name!r} (declared: {known})")
        param = declared[name][0]
        if not param.allow_override:
            raise ParamError(
                f"parameter {name!r} does not allow overrides (set allow_override = true "
                "in its definition to allow it)"
            )
        if param.secret:
            raise ParamError(
                f"parameter {name!r} is secret; change its reference instead of overriding it"
            )
        result.values[name] = _coerce(value, param.default)
        result.sources[name] = "override"
    for name, value in list(result.values.items()):
        if isinstance(value, SecretRef):
            result.secret_names.add(name)
            if not resolve_secrets:
                result.values[name] = MASK
                continue
            try:
                resolved = resolve_ref(value, secrets or SecretStore(secrets_file()))
            except SecretError as exc:
                raise ParamError(f"parameter {name!r}: {exc}") from None
            result.values[name] = resolved
            result.secret_values.add(resolved)
        elif isinstance(value, str):
            try:
                result.values[name] = expand(value, at)
            except TemplateError as exc:
                raise ParamError(f"parameter {name!r}: {exc}") from None
        if name in result.secret_names and isinstance(result.values[name], str):
            result.secret_values.add(result.values[name])
        if result.values[name] is None:
            result.values[name] = ""
    return result


def _coerce(value: Any, default: Any) -> Any:
    """Command-line overrides arrive as text; give them the default's type where clear."""
    if not isinstance(value, str) or default is None or isinstance(default, str | SecretRef):
        return value
    try:
        if isinstance(default, bool):
            lowered = value.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise ParamError(
            f"expected {type(default).__name__} like {default!r}, got {value!r}"
        ) from None
    return value
