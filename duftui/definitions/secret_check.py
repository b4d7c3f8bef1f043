"""`duftui validate`'s look at secrets: the secrets file itself, then every reference.

A secrets file that cannot be used (a mode others can read, bad TOML, not a regular
file) fails every run that needs a secret, so it is an error, located in that file. A
reference to a secret or variable that is not set is a warning at the reference's own
file and line: definitions are often checked on a machine that has no secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from duftui.definitions.common import SecretRef
from duftui.definitions.connections import SECRET_FIELDS, secret_refs
from duftui.definitions.loader import CONNECTIONS_FILE, Catalogue
from duftui.definitions.locate import TomlLocator
from duftui.definitions.masking import MIN_SECRET_LENGTH
from duftui.definitions.problems import Problem, field_name
from duftui.definitions.reading import UnreadableFile, read_regular_file
from duftui.definitions.secrets import short_secret_message
from duftui.definitions.secrets_file import SecretsFileError, read_secrets_file

Where = tuple[str, tuple[str | int, ...]]


def _references(catalogue: Catalogue) -> Iterator[tuple[Where, SecretRef]]:
    for name, connection in catalogue.connections.items():
        for field, ref in secret_refs(connection):
            path = (name, field) if field in SECRET_FIELDS else (name, "params", field, "value")
            yield (CONNECTIONS_FILE, path), ref
    for project in catalogue.projects.values():
        for pname, param in project.spec.params.items():
            if isinstance(param.default, SecretRef):
                yield (f"{project.rel}/project.toml", ("params", pname)), param.default
    for entry in catalogue.tasks.values():
        if entry.spec is None:
            continue
        for pname, param in entry.spec.params.items():
            if isinstance(param.default, SecretRef):
                yield (entry.rel, ("params", pname)), param.default
        for var, value in entry.spec.run.env.items():
            if isinstance(value, SecretRef):
                yield (entry.rel, ("run", "env", var)), value


def _line(root: Path, rel: str, path: tuple[str | int, ...], cache: dict) -> int | None:
    if rel not in cache:
        try:
            cache[rel] = TomlLocator(read_regular_file(root / rel).decode("utf-8"))
        except (OSError, UnicodeDecodeError, UnreadableFile):
            cache[rel] = None
    locator = cache[rel]
    return locator.line_of(path) if locator else None


def secret_problems(
    catalogue: Catalogue, secrets_path: Path, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """The secrets file's problems and references to secrets too short to mask (errors),
    and references that cannot be resolved (warnings)."""
    env = os.environ if environ is None else environ
    found: list[Problem] = []
    values: dict[str, str] | None
    try:
        values = read_secrets_file(secrets_path)
    except SecretsFileError as exc:
        found.append(Problem(str(secrets_path), exc.line, "", exc.reason))
        values = None
    locators: dict[str, TomlLocator | None] = {}
    for (rel, path), ref in _references(catalogue):
        value = env.get(ref.env) if ref.env is not None else (values or {}).get(ref.secret or "")
        if value is not None and 0 < len(value) < MIN_SECRET_LENGTH:
            what = f"environment variable {ref.env}" if ref.env else f"secret {ref.secret!r}"
            line = _line(catalogue.root, rel, path, locators)
            found.append(Problem(rel, line, field_name(path), short_secret_message(what)))
            continue
        if ref.env is not None:
            if ref.env in env:
                continue
            message = f"environment variable {ref.env} is not set; export it before starting duftui"
        else:
            if values is None or ref.secret in values:
                continue  # an unreadable file is reported once, above
            message = (
                f"secret {ref.secret!r} is not set in {secrets_path}; "
                f"run: duftui secret set {ref.secret}"
            )
        line = _line(catalogue.root, rel, path, locators)
        found.append(Problem(rel, line, field_name(path), message, severity="warning"))
    return found
