"""What `duftui validate` says about a task's environment: requirement files and lists
that do not parse, a broken PEP 723 block, an interpreter path that does not exist.
Reads files only; whether a Python version is installed is found when the run starts."""

from __future__ import annotations

import os
from pathlib import Path

from duftui.definitions.models import Task
from duftui.definitions.reading import UnreadableFile, read_regular_file
from duftui.envs.request import RequestError, check_requirement, script_metadata

Where = tuple[str | int, ...]


def _lines(value: str | list[str], folder: Path, where: Where, root: Path
           ) -> list[tuple[Where, str]]:
    if isinstance(value, list):
        return [((*where, index), f"{why}; fix the requirement string")
                for index, line in enumerate(value) if (why := check_requirement(line))]
    path = folder / value
    if not path.resolve().is_relative_to(root.resolve()):
        return [(where, f"{value} is outside the workspace; keep requirement files under it "
                        "(duftui writes the lock beside them)")]
    try:
        text = read_regular_file(path).decode("utf-8")
    except (OSError, UnicodeDecodeError, UnreadableFile):
        return []  # a missing or odd file is reported with the other files a task uses
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and (why := check_requirement(line)):
            found.append((where, f"{value}:{number}: {why}; fix that line"))
    return found


def environment_problems(spec: Task, folder: Path, root: Path) -> list[tuple[Where, str]]:
    """(field path, message) for each problem with the environment this task declares."""
    found: list[tuple[Where, str]] = []
    if spec.run.requirements is not None:
        found += _lines(spec.run.requirements, folder, ("run", "requirements"), root)
    if spec.processing is not None and spec.processing.requirements is not None:
        found += _lines(spec.processing.requirements, folder, ("processing", "requirements"),
                        root)
    for where, python in ((("run", "python"), spec.run.python),
                          (("processing", "python"), spec.processing and spec.processing.python)):
        if python and (os.sep in python) and not os.access(os.path.expanduser(python), os.X_OK):
            found.append((where, f"no executable interpreter at {python}; give an existing "
                                 'path or a version like "3.12"'))
    scripts = []
    if spec.run.kind == "python" and spec.run.file:
        scripts.append((("run", "file"), spec.run.file))
    if spec.processing is not None:
        scripts.append((("processing", "script"), spec.processing.script))
    for where, script in scripts:
        try:
            meta = script_metadata(folder / script)
        except RequestError as exc:
            found.append((where, f"{exc}; fix the block or remove it"))
            continue
        for line in (meta or {}).get("dependencies", []):
            if why := check_requirement(line):
                found.append((where, f"{script}: '# /// script' dependencies: {why}"))
    return found
