"""`duftui init`: lay out a new workspace (or fill in what an existing one lacks).

Nothing that exists is overwritten: running it twice is safe, and each file it writes or
keeps is reported, so the command can be scripted in a deploy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from duftui.examples import bundled_examples

GITIGNORE = "# duftui's runtime state: history, logs, run folders (see duftui locate)\n.duftui/\n"

CONNECTIONS = """\
# Named connections of this workspace. Secrets never go in this file: write
#   password = { secret = "name" }   and run   duftui secret set name
# or      password = { env = "VARIABLE" }.
#
# [clinic_db]
# type = "sqlite"
# path = "data/clinic.db"
#
# [warehouse]
# type = "sql"
# url = "postgresql+psycopg://etl@db.example.org/warehouse"
# password = { secret = "warehouse.password" }
#
# [lab_sftp]
# type = "sftp"
# host = "sftp.example.org"
# username = "clinic"
# key_file = "~/.ssh/id_ed25519"
# known_hosts = "~/.ssh/known_hosts"
"""

SETTINGS = """\
# duftui.toml: settings for the whole workspace, under version control with the tasks.
# Secrets only by reference ({ env = "…" } or { secret = "…" }). Every setting is
# optional and shown here commented out with its default or an example; a setting is read
# by the release of duftui that brings its feature (see docs/), and ignored before that.

# [workers]                 # runs of a named queue go to Celery workers over Redis
# broker = "redis://127.0.0.1:6379/0"
# heartbeat = "5s"          # a worker silent for 3 heartbeats has lost its runs

# [retention]               # what `duftui prune` and the daemon's daily prune remove
# runs = "180d"             # keep runs this long …
# keep_last = 50            # … but always the last N of each task
# logs = "30d"              # log lines may go sooner than their runs
# environments = "30d"      # task environments unused this long

# [alerts]                  # rules for every task unless a task or project overrides them
# on_failure = ["ops"]
# on_dead = ["ops"]
# on_missed = ["ops"]
# on_slow = ["ops"]
# on_no_success = ["ops"]

# [[alerts.channel]]
# name = "ops"
# kind = "email"            # email | webhook | command
# to = ["ops@example.org"]

# [environments]            # task environments built with uv
# python = "3.11"           # default interpreter (a local one; never downloaded)
# index_url = "https://pypi.org/simple"
"""


@dataclass
class InitReport:
    """What `init` did, file by file, relative to the workspace."""

    root: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class InitError(Exception):
    """The workspace cannot be laid out where asked (one sentence for the user)."""


def init_workspace(root: Path, examples: bool = False) -> InitReport:
    """Create `root` as a workspace; with `examples`, copy the bundled example projects."""
    if root.exists() and not root.is_dir():
        raise InitError(f"{root} exists and is not a folder; choose another path")
    bundle = bundled_examples() if examples else None
    if examples and bundle is None:
        raise InitError(
            "this installation carries no example projects; reinstall duftui from its wheel "
            "or a checkout"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InitError(f"cannot create {root}: {exc.strerror or exc}") from None
    report = InitReport(root=root)
    _dir(report, "tasks")
    connections = bundle.connections.read_text(encoding="utf-8") if bundle else CONNECTIONS
    _file(report, "connections.toml", connections)
    _file(report, "duftui.toml", SETTINGS)
    _gitignore(report)
    if bundle is not None:
        for project in sorted(p for p in bundle.tasks.iterdir() if p.is_dir()):
            _tree(report, project, Path("tasks") / project.name)
        if bundle.contrib.is_dir():
            _tree(report, bundle.contrib, Path("contrib"))
    return report


def _dir(report: InitReport, rel: str) -> None:
    target = report.root / rel
    if target.is_dir():
        report.kept.append(rel + "/")
        return
    target.mkdir(parents=True)
    report.written.append(rel + "/")


def _file(report: InitReport, rel: str, text: str) -> None:
    target = report.root / rel
    if target.exists() or target.is_symlink():
        report.kept.append(rel)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as handle:
        handle.write(text)
    report.written.append(rel)


def _gitignore(report: InitReport) -> None:
    target = report.root / ".gitignore"
    if not target.exists():
        _file(report, ".gitignore", GITIGNORE)
        return
    lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
    if any(line.strip() in (".duftui", ".duftui/", "/.duftui/", "/.duftui") for line in lines):
        report.kept.append(".gitignore")
        return
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(("\n" if lines and lines[-1] else "") + GITIGNORE)
    report.written.append(".gitignore (added .duftui/)")


def _tree(report: InitReport, source: Path, rel: Path) -> None:
    """Copy one example folder; an existing folder of that name is left alone."""
    target = report.root / rel
    if target.exists():
        report.kept.append(f"{rel}/")
        return
    shutil.copytree(
        source,
        target,
        symlinks=False,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".duftui"),
    )
    report.written.append(f"{rel}/")
