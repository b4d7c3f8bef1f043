"""What a run would do, without running it (`duftui preview`, the console's Task screen)."""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from typing import Any

from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.definitions.secrets import SecretStore
from duftui.engine.launch import uses_step_runner, working_directory
from duftui.engine.params import resolve_params
from duftui.engine.submit import runnable
from duftui.engine.templates import TemplateError, expand, expand_name, logical_local
from duftui.store.timestamps import utcnow


def preview_task(
    catalogue: Catalogue,
    key: str,
    *,
    overrides: dict[str, Any] | None = None,
    at: datetime | None = None,
    tz_name: str | None = None,
    secrets: SecretStore | None = None,
) -> dict[str, Any]:
    """Resolved parameters (secrets masked), output names, command and SQL."""
    entry = runnable(catalogue, key)
    spec = entry.spec
    assert spec is not None
    local = logical_local(at or utcnow(), tz_name)
    resolved = resolve_params(catalogue, entry, at=local, overrides=overrides, secrets=secrets,
                              resolve_secrets=False)
    stored = resolved.stored()
    shown: dict[str, Any] = {
        "task": entry.key,
        "logical_time": local.isoformat(timespec="seconds"),
        "params": {name: {"value": stored[name], "source": resolved.sources.get(name, "")}
                   for name in stored},
        "cwd": str(working_directory(entry, spec, catalogue.root)),
        "files": {},
    }
    shown["environments"] = _environments(catalogue, entry)
    own = next((e for e in shown["environments"] if e["for"] == "run"), None)
    if uses_step_runner(spec):
        shown["command"] = f"duftui step runner ({spec.run.kind})"
    elif spec.run.kind == "python":
        python = (own["path"] + "/bin/python") if own and own["path"] else (
            "(the task's environment, built at the first run)" if own else None)
        shown["command"] = f"{python or spec.run.interpreter or sys.executable} {spec.run.file}"
    elif spec.run.shell:
        shown["command"] = f"/bin/sh -c {shlex.quote(str(spec.run.command))}"
    elif isinstance(spec.run.command, list):
        shown["command"] = shlex.join(spec.run.command)
    else:
        shown["command"] = str(spec.run.file)
    if spec.output is not None:
        from pathlib import Path

        from duftui.engine.params import name_params
        from duftui.steps.errors import StepError
        from duftui.steps.output import rows_file

        names = name_params(catalogue, entry, stored)
        try:
            shown["files"]["output file"] = rows_file(spec.output, local, Path("."), names).name
            if spec.output.zip:
                zip_name = spec.output.zip_name or shown["files"]["output file"] + ".zip"
                shown["files"]["zip file"] = expand_name(zip_name, local, names)
        except (StepError, TemplateError) as exc:
            shown["files"]["output file"] = f"(cannot be named: {exc})"
    for index, target in enumerate(spec.deliver):
        shown["files"][f"deliver[{index}]"] = f"{target.kind}: {expand_name(target.path, local)}"
    if spec.source is not None and spec.source.path:
        shown["files"]["source path"] = expand_name(spec.source.path, local)
    if spec.run.kind == "sql" and spec.source is not None:
        query = spec.source.query
        if spec.source.query_file:
            try:
                query = (entry.folder / spec.source.query_file).read_text(encoding="utf-8")
            except OSError as exc:
                query = f"-- cannot read {spec.source.query_file}: {exc.strerror}"
        if spec.source.query_url:
            query = f"-- fetched at run time from {spec.source.query_url}"
        shown["sql"] = expand(query or "", local)
        shown["bind"] = {k: v for k, v in stored.items() if f":{k}" in (query or "")}
    return shown


def _environments(catalogue: Catalogue, entry: TaskEntry) -> list[dict[str, Any]]:
    """The environments the run would use (docs/environments.md), or why they cannot be."""
    from duftui.envs.build import EnvError
    from duftui.envs.manage import describe_for_task
    from duftui.envs.request import RequestError

    try:
        return describe_for_task(catalogue, entry)
    except (EnvError, RequestError) as exc:
        return [{"for": "run", "error": str(exc), "path": None}]


def environment_lines(shown: dict[str, Any]) -> list[str]:
    """The environment part of a preview as text, for the CLI and the console."""
    lines = []
    for env in shown.get("environments", []):
        if env.get("error"):
            lines.append(f"environment   {env['error']}")
            continue
        state = "ready" if env["ready"] else ("to build" if env["key"] else "to lock and build")
        lines.append(f"environment   {env['for']}: {env['key'] or '(not locked yet)'} "
                     f"python {env['python']}, from {env['source']} ({state})")
        lines.append(f"  lock        {env['lock']}"
                     + (f" sha256:{env['lock_hash']}" if env["lock_hash"] else ""))
    return lines
