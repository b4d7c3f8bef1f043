"""From form data to a written file, shared by the task and project forms: the text to
write (comment-keeping `update_document` for an existing file, a clean render for a new
one), its per-file problems, then the checks before writing and the write itself."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from tomlkit.exceptions import TOMLKitError

from duftui.definitions.edit_base import (
    ABSENT,
    Draft,
    EditError,
    FileChanged,
    NotFound,
    SaveResult,
    ValidationFailed,
    audit,
    check_unchanged,
    keep_spelling,
    normalize,
    ordered,
    prune_defaults,
    write_new,
)
from duftui.definitions.loader import Catalogue
from duftui.definitions.parsing import (
    ParsedFile,
    file_digest,
    parse_text,
    read_toml,
    rel_path,
    validate_model,
)
from duftui.definitions.problems import Problem
from duftui.definitions.writer import model_document, render, update_document, write_atomic

if TYPE_CHECKING:
    from duftui.store.db import Store

FormData = dict[str, Any]


@dataclass
class Plan:
    """The text a save would write, and everything found wrong with it."""

    target: str
    path: Path
    rel: str
    base: str | None  # the text it was derived from (None: rendered from scratch)
    digest: str  # digest of the file on disk when `base` was read (ABSENT: none)
    text: str
    spec: BaseModel | None
    expected: BaseModel | None  # the form's data as a model, for the round-trip check
    problems: list[Problem]
    parsed: ParsedFile


def draft(
    target: str,
    path: Path,
    catalogue: Catalogue,
    check: Callable[[FormData], list[Problem]],
) -> Draft:
    """The file as form data and its digest; `problems` are what `check` (the form's own
    validation) finds in it now, or its syntax error when it is not TOML."""
    if not path.exists():
        return Draft(target, path, rel_path(path, catalogue.root), {}, ABSENT, check({}))
    parsed = read_toml(path, catalogue.root)  # the loader's own reading, UTF-8 check and all
    problems = check(parsed.data) if parsed.data is not None else parsed.problems
    return Draft(target, path, parsed.rel, parsed.data, parsed.digest, problems)


def plan_text(
    catalogue: Catalogue,
    target: str,
    path: Path,
    base: str | None,
    data: FormData | Callable[[FormData], FormData],
    model: type[BaseModel],
) -> Plan:
    """Form data → the text to write (comment-keeping when `base` exists) → per-file checks."""
    old: FormData | None = None
    if base is not None:
        try:
            old = tomllib.loads(base)
        except tomllib.TOMLDecodeError:
            old = None
    if callable(data):
        if base is None:
            raise NotFound(f"{rel_path(path, catalogue.root)} does not exist any more")
        if old is None:
            raise ValidationFailed(parse_text(base, path, catalogue.root).problems)
        data = data(normalize(old))
    data = keep_spelling(normalize(data), old)
    try:
        expected: BaseModel | None = model.model_validate(data)
    except ValidationError:
        expected = None
    if expected is not None:
        data = prune_defaults(data, old, model_document(expected))
    text = None
    if base is not None and old is not None:
        try:
            text = update_document(base, data)
        except TOMLKitError:
            text = None
    if text is None:  # new, or the old file is not TOML: the form's data replaces it
        text = render(ordered(data, model)) if data else ""
    parsed = parse_text(text, path, catalogue.root)
    spec = validate_model(model, parsed) if parsed.data is not None else None
    return Plan(
        target=target,
        path=path,
        rel=parsed.rel,
        base=base,
        digest=ABSENT,
        text=text,
        spec=spec,
        expected=expected,
        problems=list(parsed.problems),
        parsed=parsed,
    )


def commit(
    plan: Plan,
    *,
    new: bool,
    opened: str | None,
    overwrite: bool,
    user: str | None,
    store: Store | None,
    action: str,
    detail: dict[str, Any],
) -> SaveResult:
    """Refuse errors and stale forms, check the round trip, write, audit."""
    errors = [p for p in plan.problems if p.is_error]
    if errors:
        raise ValidationFailed(errors)
    if opened is not None:
        check_unchanged(plan.path, opened, plan.digest, overwrite)
    if plan.expected is not None and plan.spec != plan.expected:
        raise EditError(
            f"{plan.rel}: the text to write would not load back to the same definition; "
            "nothing was written (please report this)"
        )
    warnings = [p for p in plan.problems if not p.is_error]
    digest = hashlib.sha256(plan.text.encode("utf-8")).hexdigest()
    created = plan.digest == ABSENT
    if plan.base == plan.text or (created and not new and not plan.text):
        return SaveResult(
            plan.target, plan.path, plan.rel, digest, False, False, plan.text, warnings
        )
    if created:
        try:
            write_new(plan.path, plan.text)
        except FileExistsError:
            if new:
                raise ValidationFailed(
                    [
                        Problem(
                            plan.rel,
                            None,
                            "key",
                            f"{plan.rel} was created meanwhile; choose another key",
                        )
                    ]
                ) from None
            raise FileChanged(plan.path, opened or ABSENT, file_digest(plan.path)) from None
    else:
        write_atomic(plan.path, plan.text)
    audit(store, action, plan.target, {"file": plan.rel, **detail}, user)
    return SaveResult(plan.target, plan.path, plan.rel, digest, created, True, plan.text, warnings)
