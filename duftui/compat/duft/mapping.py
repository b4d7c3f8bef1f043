"""DUFT's JSON definitions mapped to duftui's models, with a note for everything left out.

Field by field (DESIGN §2):
- `dataTasks[]`: id → key (lower-cased; `duft_id` keeps the original), name, description,
  `pythonFile` → `[run]` file and kind (`.ipynb` notebook, `.py` python with duft = true),
  `hideInUI` → hidden, `executeFromRoot` → cwd = "root" (else "script"), `dataConnections` →
  run.connections, `supportedParameters` → `[params.*]` (defaultValue, title,
  description, allowOverride, promptUser).
- `dataConnections[]` → `type = "duft"` connections named by their DUFT id, with typed
  params; the user's `dataConnectionParameters` give the values, passwords going to the
  secrets file as `{ secret = "duft.ID.param" }`.
- `scheduledDataTasks` cron objects → `[[schedule]]` with the table form of `cron`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from duftui.compat.duft.config import DuftConfig
from duftui.definitions.common import CONNECTION_NAME_PATTERN
from duftui.definitions.connections import DuftConnection
from duftui.definitions.models import Task
from duftui.definitions.schedules import Schedule

PARAM_TYPES = ("text", "password", "integer", "url")
TASK_FIELDS = {
    "id",
    "name",
    "description",
    "pythonFile",
    "hideInUI",
    "executeFromRoot",
    "dataConnections",
    "supportedParameters",
}
PARAM_FIELDS = {
    "title": "title",
    "description": "description",
    "defaultValue": "default",
    "allowOverride": "allow_override",
    "promptUser": "prompt",
}
CRON_FIELDS = {
    "second": "second",
    "minute": "minute",
    "hour": "hour",
    "day_of_month": "day_of_month",
    "day": "day_of_month",
    "month": "month",
    "day_of_week": "day_of_week",
}
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class MappedConnection:
    name: str
    duft_id: str
    connection: DuftConnection
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass
class MappedTask:
    key: str
    duft_id: str
    task: Task
    script: str


@dataclass
class Mapping:
    connections: list[MappedConnection] = field(default_factory=list)
    tasks: list[MappedTask] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def task_key(duft_id: str, taken: set[str]) -> str:
    """A valid, unused key for a DUFT id: "LAB-VISUAL-ETL" → "lab-visual-etl"."""
    base = re.sub(r"[^a-z0-9_-]+", "-", str(duft_id).lower()).strip("-_") or "task"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    taken.add(key)
    return key


def secret_name(connection: str, param: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", f"duft.{connection}.{param}")


def map_config(config: DuftConfig) -> Mapping:
    mapping = Mapping(notes=list(config.notes))
    _map_connections(config, mapping)
    names = {c.duft_id: c.name for c in mapping.connections}
    taken: set[str] = set()
    drafts: dict[str, tuple[str, dict[str, Any], str]] = {}
    for index, entry in enumerate(config.tasks):
        where = f"{config.rel(config.tasks_file)}: dataTasks[{index}]"
        if not isinstance(entry, dict) or not entry.get("id"):
            mapping.notes.append(f"{where}: not a task with an id; skipped")
            continue
        draft = _task_draft(config, entry, names, f"{where} {entry['id']}", mapping)
        if draft is not None:
            drafts[str(entry["id"])] = (task_key(str(entry["id"]), taken), *draft)
    _map_schedules(config, drafts, mapping.notes)
    for duft_id, (key, data, script) in drafts.items():
        try:
            mapping.tasks.append(MappedTask(key, duft_id, Task.model_validate(data), script))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            mapping.notes.append(f"dataTasks {duft_id}: cannot be imported ({problems})")
    return mapping


def _task_draft(
    config: DuftConfig,
    entry: dict[str, Any],
    connections: dict[str, str],
    where: str,
    mapping: Mapping,
) -> tuple[dict[str, Any], str] | None:
    notes = mapping.notes
    for name in entry:
        if name not in TASK_FIELDS:
            notes.append(f"{where}: field {name!r} not mapped")
    script = str(entry.get("pythonFile") or "")
    suffix = PurePosixPath(script).suffix.lower()
    if not script or suffix not in (".py", ".ipynb"):
        notes.append(
            f"{where}: pythonFile {script!r} is not a .py script or .ipynb notebook; "
            "task not imported"
        )
        return None
    unsafe = config.unsafe_script(script)
    if unsafe:
        mapping.refused.append(f"{where}: pythonFile {script!r}: {unsafe}; task not imported")
        return None
    if not (config.scripts_dir / script).is_file():
        notes.append(
            f"{where}: pythonFile {script!r} not found in "
            f"{config.rel(config.scripts_dir)}; task not imported"
        )
        return None
    run: dict[str, Any] = {
        "kind": "notebook" if suffix == ".ipynb" else "python",
        "file": f"scripts/{script}",
        "duft": True,
    }
    for flag in ("hideInUI", "executeFromRoot"):
        if flag in entry and not isinstance(entry[flag], bool):
            notes.append(f"{where}: {flag} {entry[flag]!r} is not true/false; not mapped")
    # DUFT runs a script in its own folder unless executeFromRoot says the DUFT root.
    run["cwd"] = "root" if entry.get("executeFromRoot") is True else "script"
    wanted = entry.get("dataConnections") or []
    if not isinstance(wanted, list):
        notes.append(f"{where}: dataConnections is not a list; not mapped")
        wanted = []
    for duft_id in wanted:
        if str(duft_id) in connections:
            run.setdefault("connections", []).append(connections[str(duft_id)])
        else:
            notes.append(
                f"{where}: data connection {duft_id!r} is defined nowhere "
                "(data_connections.json, user config); left out of run.connections"
            )
    data: dict[str, Any] = {
        "name": str(entry.get("name") or entry["id"]),
        "duft_id": str(entry["id"]),
        "run": run,
    }
    if entry.get("description"):
        data["description"] = str(entry["description"])
    if entry.get("hideInUI") is True:
        data["hidden"] = True
    params = _params(entry.get("supportedParameters") or {}, where, notes)
    if params:
        data["params"] = params
    return data, script


def _params(declared: Any, where: str, notes: list[str]) -> dict[str, dict[str, Any]]:
    if isinstance(declared, list):
        declared = {str(item.get("name")): item for item in declared if isinstance(item, dict)}
    if not isinstance(declared, dict):
        notes.append(f"{where}: supportedParameters is not an object; not mapped")
        return {}
    params: dict[str, dict[str, Any]] = {}
    for name, spec in declared.items():
        at = f"{where}: supportedParameters.{name}"
        if not _PARAM_NAME.fullmatch(str(name)):
            notes.append(f"{at}: name is not usable as a parameter (letters, digits, '_'); skipped")
            continue
        spec = spec if isinstance(spec, dict) else {"defaultValue": spec}
        param: dict[str, Any] = {}
        for key, value in spec.items():
            if key == "name":
                continue
            target = PARAM_FIELDS.get(key)
            if target is None:
                notes.append(f"{at}: field {key!r} not mapped")
            elif target == "default" and not _plain_value(value):
                if value is not None:
                    notes.append(f"{at}: defaultValue {value!r} is not a plain value; not mapped")
            elif target in ("allow_override", "prompt") and not isinstance(value, bool):
                notes.append(f"{at}: {key} {value!r} is not true/false; not mapped")
            elif value is not None:
                param[target] = str(value) if target in ("title", "description") else value
        params[str(name)] = param
    return params


def _plain_value(value: Any) -> bool:
    if isinstance(value, str | bool | int | float):
        return True
    return isinstance(value, list) and all(isinstance(v, str | bool | int | float) for v in value)


def _map_connections(config: DuftConfig, mapping: Mapping) -> None:
    values_by_id = config.user_config.get("dataConnectionParameters") or {}
    if not isinstance(values_by_id, dict):
        mapping.notes.append("user config: dataConnectionParameters is not an object; ignored")
        values_by_id = {}
    defined: dict[str, MappedConnection] = {}
    for path, entry in config.connections:
        where = f"{config.rel(path)}: dataConnections"
        if not isinstance(entry, dict) or not entry.get("id"):
            mapping.notes.append(f"{where}: an entry without an id; skipped")
            continue
        duft_id = str(entry["id"])
        where = f"{where} {duft_id}"
        for key in entry:
            if key not in ("id", "name", "description", "params"):
                mapping.notes.append(f"{where}: field {key!r} not mapped")
        declared: dict[str, dict[str, Any]] = {}
        for param in entry.get("params") or []:
            if not isinstance(param, dict) or not param.get("name"):
                mapping.notes.append(f"{where}: a param without a name; skipped")
                continue
            kind = str(param.get("type") or "text")
            if kind not in PARAM_TYPES:
                mapping.notes.append(
                    f"{where}: param {param['name']}: type {kind!r} is not one "
                    f"of {', '.join(PARAM_TYPES)}; imported as text"
                )
                kind = "text"
            declared[str(param["name"])] = {"type": kind, "label": str(param.get("label") or "")}
        meta = {
            "name": str(entry.get("name") or ""),
            "description": str(entry.get("description") or ""),
        }
        if duft_id in defined:
            mapping.notes.append(f"{where}: defined again; this definition replaces the first")
        defined[duft_id] = _connection(
            duft_id, meta, declared, values_by_id.get(duft_id) or {}, where, mapping.notes
        )
    for duft_id, values in values_by_id.items():
        if duft_id not in defined:
            where = f"user config: dataConnectionParameters {duft_id}"
            mapping.notes.append(
                f"{where}: no definition in data_connections.json; "
                "imported with parameter types guessed from the values"
            )
            defined[duft_id] = _connection(
                str(duft_id),
                {"name": str(duft_id), "description": ""},
                {},
                values if isinstance(values, dict) else {},
                where,
                mapping.notes,
            )
    mapping.connections.extend(defined.values())


def _connection(
    duft_id: str,
    meta: dict[str, str],
    declared: dict[str, dict[str, Any]],
    values: dict[str, Any],
    where: str,
    notes: list[str],
) -> MappedConnection:
    name = (
        duft_id
        if CONNECTION_NAME_PATTERN.fullmatch(duft_id)
        else (re.sub(r"[^A-Za-z0-9_.-]+", "-", duft_id).strip("-.") or "duft")
    )
    if name != duft_id:
        notes.append(
            f"{where}: named {name!r} in connections.toml ({duft_id!r} is not a valid "
            "name); scripts asking for the DUFT id will not find it"
        )
    params = {k: dict(v) for k, v in declared.items()}
    secrets: dict[str, str] = {}
    for key, value in values.items():
        if key not in params:
            guessed = (
                "password"
                if "password" in key.lower()
                else (
                    "integer" if isinstance(value, int) and not isinstance(value, bool) else "text"
                )
            )
            params[key] = {"type": guessed, "label": ""}
        if value is None:
            continue
        if not isinstance(value, str | int | float | bool):
            notes.append(f"{where}: value of {key!r} is not a plain value; not imported")
            continue
        if params[key]["type"] == "password" and value != "":
            secret = secret_name(name, key)
            secrets[secret] = str(value)
            params[key]["value"] = {"secret": secret}
        else:
            params[key]["value"] = value
    data = {
        "type": "duft",
        "duft_id": duft_id,
        "params": params,
        **{k: v for k, v in meta.items() if v},
    }
    return MappedConnection(name, duft_id, DuftConnection.model_validate(data), secrets)


def _map_schedules(
    config: DuftConfig, drafts: dict[str, tuple[str, dict[str, Any], str]], notes: list[str]
) -> None:
    scheduled = config.user_config.get("scheduledDataTasks") or {}
    if isinstance(scheduled, list):
        scheduled = {str(item.get("id")): item for item in scheduled if isinstance(item, dict)}
    if not isinstance(scheduled, dict):
        notes.append("user config: scheduledDataTasks is not an object; not mapped")
        return
    lowered = {k.lower(): k for k in drafts}
    for duft_id, entry in scheduled.items():
        where = f"user config: scheduledDataTasks {duft_id}"
        target = drafts.get(duft_id) or drafts.get(lowered.get(str(duft_id).lower(), ""))
        if target is None:
            notes.append(f"{where}: no imported task with this id; schedule not mapped")
            continue
        if not isinstance(entry, dict):
            notes.append(f"{where}: not an object; not mapped")
            continue
        for key in entry:
            if key not in ("schedule", "description", "enabled", "id"):
                notes.append(f"{where}: field {key!r} not mapped")
        if entry.get("description"):
            notes.append(f"{where}: description not mapped (schedules have none)")
        schedule = _schedule(entry.get("schedule"), where, notes)
        if schedule is None:
            continue
        if entry.get("enabled") is False:
            schedule["enabled"] = False
        try:
            Schedule.model_validate(schedule)
        except ValidationError as exc:
            reasons = "; ".join(e["msg"] for e in exc.errors())
            notes.append(f"{where}: schedule not mapped ({reasons})")
            continue
        target[1].setdefault("schedule", []).append(schedule)


def _schedule(value: Any, where: str, notes: list[str]) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not isinstance(value.get("cron"), dict):
        notes.append(f"{where}: schedule {value!r} is not a cron object; not mapped")
        return None
    for key in value:
        if key != "cron":
            notes.append(f"{where}: schedule.{key} not mapped")
    cron: dict[str, Any] = {}
    out: dict[str, Any] = {"cron": cron}
    for key, item in value["cron"].items():
        if key in CRON_FIELDS:
            cron[CRON_FIELDS[key]] = item if isinstance(item, int) else str(item)
        elif key in ("start_date", "end_date"):
            out[key.removesuffix("_date")] = str(item)
        elif key == "timezone":
            out["timezone"] = str(item)
        elif key in ("year", "week") and str(item) != "*":
            notes.append(f"{where}: cron.{key} = {item!r} cannot be expressed; schedule not mapped")
            return None
        else:
            notes.append(f"{where}: cron.{key} not mapped")
    weekday = str(cron.get("day_of_week", "*"))
    if re.search(r"\d", weekday):
        notes.append(
            f"{where}: day_of_week {weekday!r} kept as written; duftui reads weekday "
            "numbers cron-style (0 = Sunday), so check it, or use names (mon-fri)"
        )
    return out
