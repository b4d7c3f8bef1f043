"""The connection form's operations: validate, save, delete (DESIGN §2, §3).

Secret values typed into a password input never reach connections.toml: they go to the
user's secrets file (`SecretStore.set`, name "<connection>.<field>", lower-cased) and the
file gets `{ secret = "…" }`, which is what the loader's "no literal secret" rule asks for.
A connection's conflict digest covers its own table only, so two forms editing different
connections do not collide.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
from pydantic import ValidationError

from duftui.definitions import loader
from duftui.definitions.common import CONNECTION_NAME_PATTERN
from duftui.definitions.connections import CONNECTION_TYPES, literal_secrets, secret_refs
from duftui.definitions.edit_base import (
    ABSENT,
    Draft,
    EditError,
    InUse,
    NotFound,
    SaveResult,
    ValidationFailed,
    audit,
    check_unchanged,
    normalize,
    ordered,
    prune_defaults,
    read_text,
    write_new,
)
from duftui.definitions.loader import CONNECTIONS_FILE, Catalogue, load_workspace
from duftui.definitions.parsing import ParsedFile, parse_text, validate_model
from duftui.definitions.problems import Problem, field_name, show, suggest
from duftui.definitions.secrets import SecretError, SecretStore, check_secret_name, resolve_ref
from duftui.definitions.writer import model_document, render, update_document, write_atomic

if TYPE_CHECKING:
    from duftui.definitions.trash import TrashEntry
    from duftui.store.db import Store


def table_digest(table: Any) -> str:
    """The conflict digest of one connection's table (ABSENT when there is none)."""
    if table is None:
        return ABSENT
    return hashlib.sha256(json.dumps(table, sort_keys=True, default=str).encode()).hexdigest()


def secret_name(connection: str, field: str) -> str:
    """Where a typed secret is stored: "clinic-sftp.password" (as the loader suggests)."""
    return f"{connection}.{field}".lower()


def open_connection(catalogue: Catalogue, name: str) -> Draft:
    """One connection's table as form data, with its digest for `save_connection`."""
    path = catalogue.root / CONNECTIONS_FILE
    text, _ = read_text(path, catalogue.root)
    parsed = parse_text(text or "", path, catalogue.root)
    if parsed.data is None:
        return Draft(name, path, CONNECTIONS_FILE, None, ABSENT, parsed.problems)
    if name not in parsed.data:
        raise NotFound(f"no connection {name!r}" + suggest(name, list(parsed.data)))
    table = parsed.data[name]
    problems = _table_problems(parsed, name)
    return Draft(name, path, CONNECTIONS_FILE, table, table_digest(table), problems)


def validate_connection(
    catalogue: Catalogue, name: str, data: dict[str, Any], *, new: bool | None = None
) -> list[Problem]:
    """Every problem `duftui validate` would report for this connection once saved,
    including the "no literal secret" rule (type secrets into the password inputs)."""
    if new is None:
        new = name not in catalogue.connections and name not in catalogue.broken_connections
    try:
        return _plan(catalogue.root, name, normalize(data), new=new).problems
    except ValidationFailed as failed:  # connections.toml cannot be read as text
        return failed.problems


@dataclass
class _Plan:
    path: Path
    base: str | None
    current: Any  # the connection's table on disk now (None: none)
    text: str
    problems: list[Problem]


def _plan(root: Path, name: str, data: dict[str, Any], *, new: bool) -> _Plan:
    path = root / CONNECTIONS_FILE
    base, _ = read_text(path, root)
    parsed = parse_text(base or "", path, root)
    if parsed.data is None:  # connections.toml itself is broken: fix it in an editor first
        return _Plan(path, base, None, base or "", parsed.problems)
    document = parsed.data
    current = document.get(name)
    problems: list[Problem] = []
    if new and current is not None:
        line = parsed.locator.line_of((name,)) if parsed.locator else None
        problems.append(
            Problem(
                CONNECTIONS_FILE,
                line,
                name,
                f"connection {name!r} exists already; choose another name",
            )
        )
    elif not new and current is None:
        raise NotFound(f"no connection {name!r} in {CONNECTIONS_FILE}")
    model = CONNECTION_TYPES.get(str(data.get("type")))
    if model is not None:
        data = {"type": data["type"], **ordered(data, model)}  # type first, as people write
        try:
            data = prune_defaults(
                data,
                current if isinstance(current, dict) else None,
                model_document(model.model_validate(data)),
            )
        except ValidationError:
            pass
    wanted = {**document, name: data}
    text = update_document(base, wanted) if base else render(wanted)
    checked = parse_text(text, path, root)
    problems.extend(_table_problems(checked, name))
    return _Plan(path, base, current, text, problems)


def _table_problems(parsed: ParsedFile, name: str) -> list[Problem]:
    """The loader's per-connection checks (`loader._load_connections`), for one table.
    Kept message for message; tests compare both over the broken corpus."""
    table = parsed.data[name] if parsed.data else None
    line = parsed.locator.line_of((name,)) if parsed.locator else None
    found: list[Problem] = []
    rel = parsed.rel
    if not CONNECTION_NAME_PATTERN.fullmatch(name):
        found.append(
            Problem(
                rel,
                line,
                name,
                "connection name is not valid: use letters, digits, '.', '-' and '_'",
            )
        )
    elif not isinstance(table, dict):
        found.append(Problem(rel, line, name, f'expected a table like [{name}] with type = "…"'))
    elif "type" not in table:
        found.append(
            Problem(
                rel, line, name, f"connection needs a type: one of {', '.join(CONNECTION_TYPES)}"
            )
        )
    elif table["type"] not in CONNECTION_TYPES:
        type_line = parsed.locator.line_of((name, "type")) if parsed.locator else line
        found.append(
            Problem(
                rel,
                type_line,
                f"{name}.type",
                f"expected one of {', '.join(CONNECTION_TYPES)}, got {show(table['type'])}"
                + suggest(str(table["type"]), list(CONNECTION_TYPES)).split(" (")[0],
            )
        )
    else:
        before = len(parsed.problems)
        connection = validate_model(CONNECTION_TYPES[table["type"]], parsed, (name,))
        found.extend(parsed.problems[before:])
        if connection is not None:
            for path_in, field in literal_secrets(connection):
                full = (name, *path_in)
                where = parsed.locator.line_of(full) if parsed.locator else line
                found.append(
                    Problem(
                        rel, where, field_name(full), loader._literal_secret(name, field, path_in)
                    )
                )
    return sorted(found, key=lambda p: (p.line or 0, p.field))


def save_connection(
    root: Path,
    name: str,
    data: dict[str, Any],
    secret_values: dict[str, str] | None = None,
    *,
    opened_digest: str | None,
    user: str | None = None,
    store: Store | None = None,
    secrets: SecretStore | None = None,
    overwrite: bool = False,
) -> SaveResult:
    """Write one connection into connections.toml, comments kept.

    `secret_values` maps a field ("password", "passphrase", or a DUFT param name) to what
    was typed into its password input; each non-empty one is stored in the secrets file
    and replaced by a reference. An empty one keeps the field as it is. Nothing is stored
    or written while the connection has errors. `opened_digest=None` adds a new one.
    """
    new = opened_digest is None
    data = normalize(data)
    stored: dict[str, str] = {}
    problems: list[Problem] = []
    for field, value in (secret_values or {}).items():
        if not value:
            continue
        secret = secret_name(name, field)
        try:
            check_secret_name(secret)
        except SecretError as exc:
            problems.append(Problem(CONNECTIONS_FILE, None, f"{name}.{field}", str(exc)))
            continue
        stored[secret] = value
        reference = {"secret": secret}
        if data.get("type") == "duft":
            param = data.setdefault("params", {}).setdefault(field, {"type": "password"})
            param["value"] = reference
        else:
            data[field] = reference
    plan = _plan(root, name, data, new=new)
    errors = [p for p in problems + plan.problems if p.is_error]
    if errors:
        raise ValidationFailed(errors)
    if not new:
        check_unchanged(plan.path, opened_digest or ABSENT, table_digest(plan.current), overwrite)
    if stored:
        vault = secrets or SecretStore(_secrets_path())
        _refuse_inside(vault.path, root)
        for secret, value in stored.items():
            vault.set(secret, value)
    digest = table_digest(tomllib.loads(plan.text).get(name))
    changed = plan.base != plan.text
    if changed:
        if plan.base is None:
            write_new(plan.path, plan.text)
        else:
            write_atomic(plan.path, plan.text)
    if changed or stored:
        detail: dict[str, Any] = {"file": CONNECTIONS_FILE}
        if stored:
            detail["secrets"] = sorted(stored)  # names only, never values
        audit(store, "new" if new else "edit", f"connection:{name}", detail, user)
    return SaveResult(
        name,
        plan.path,
        CONNECTIONS_FILE,
        digest,
        new,
        changed,
        plan.text,
        _unresolved(root, name, secrets),
    )


def _secrets_path() -> Path:
    from duftui.locations import secrets_file

    return secrets_file()


def _refuse_inside(path: Path, root: Path) -> None:
    """A secrets file inside the workspace would put secrets under version control."""
    if path.resolve().is_relative_to(root.resolve()):
        raise EditError(
            f"the secrets file {path} is inside the workspace; secrets would end up under "
            "version control. Set DUFTUI_SECRETS to a file outside it"
        )


def _unresolved(root: Path, name: str, secrets: SecretStore | None) -> list[Problem]:
    """Warnings for references that cannot be resolved yet, as `duftui validate` gives."""
    connection = load_workspace(root).connections.get(name)
    if connection is None:
        return []
    vault = secrets or SecretStore(_secrets_path())
    found = []
    for field, ref in secret_refs(connection):
        try:
            resolve_ref(ref, vault, os.environ)
        except SecretError as exc:
            found.append(
                Problem(CONNECTIONS_FILE, None, f"{name}.{field}", str(exc), severity="warning")
            )
    return found


def connection_users(catalogue: Catalogue, name: str) -> list[str]:
    """Tasks that refer to a connection (their definitions break if it goes)."""
    return sorted(
        entry.key
        for entry in catalogue.tasks.values()
        if entry.spec and any(used == name for _, used in entry.spec.connections_used())
    )


def delete_connection(
    root: Path,
    name: str,
    *,
    user: str | None = None,
    store: Store | None = None,
    force: bool = False,
) -> TrashEntry:
    """Remove a connection from connections.toml (comments elsewhere kept) and keep its
    table in the trash. Tasks that use it make this raise InUse unless `force`.
    Its secrets stay in the secrets file, so a restore works as before."""
    from duftui.definitions.trash import into_trash

    users = connection_users(load_workspace(root), name)
    if users and not force:
        raise InUse(f"connection {name}", users)
    path = root / CONNECTIONS_FILE
    base, _ = read_text(path, root)
    if base is None:
        raise NotFound(f"no connection {name!r}: {CONNECTIONS_FILE} does not exist")
    remaining, kept = cut_table(base, name)
    entry = into_trash(
        root, "connection", name, CONNECTIONS_FILE, f"connection-{name}", text=kept, user=user
    )
    write_atomic(path, remaining)
    audit(
        store, "delete", f"connection:{name}", {"file": CONNECTIONS_FILE, "trash": entry.id}, user
    )
    return entry


def cut_table(text: str, name: str) -> tuple[str, str]:
    """(text without connection `name`, the text of `name`). The comment lines right above
    its header go with it; comments at the end of its block stay, as they usually
    introduce the next table. Falls back to tomlkit when the table is not one block."""
    parsed = parse_text(text, Path(CONNECTIONS_FILE), Path())
    data = parsed.data or {}
    if name not in data:
        raise NotFound(f"no connection {name!r} in {CONNECTIONS_FILE}")
    lines = text.splitlines(keepends=True)
    locator = parsed.locator
    firsts = sorted((locator.line_of((key,)) or 0) - 1 for key in data) if locator else []
    start = (locator.line_of((name,)) or 1) - 1 if locator else 0
    end = next((line for line in firsts if line > start), len(lines))
    while end > start + 1 and _loose(lines[end - 1]):
        end -= 1
    above = start
    while above > 0 and lines[above - 1].lstrip().startswith("#"):
        above -= 1
    if above > 0:  # comments at the very top of the file are the file's own
        start = above
    removed = "".join(lines[start:end])
    rest = lines[:start] + lines[end:]
    if 0 < start < len(rest) and not rest[start].strip() and not rest[start - 1].strip():
        del rest[start]
    while start == 0 and rest and not rest[0].strip():
        del rest[0]
    remaining = "".join(rest)
    expected = {key: value for key, value in data.items() if key != name}
    try:
        if tomllib.loads(remaining) == expected and tomllib.loads(removed) == {name: data[name]}:
            return remaining, removed
    except tomllib.TOMLDecodeError:
        pass
    document = tomlkit.parse(text)
    alone = tomlkit.document()
    alone.append(name, document[name])
    removed = tomlkit.dumps(alone).strip("\n") + "\n"
    del document[name]
    return tomlkit.dumps(document).rstrip("\n") + "\n", removed


def _loose(line: str) -> bool:
    """A blank or comment-only line."""
    return not line.strip() or line.lstrip().startswith("#")
