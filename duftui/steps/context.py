"""What a step-runner process knows about its run: task, params, connections, paths."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from duftui.definitions.loader import Catalogue, TaskEntry, load_workspace
from duftui.definitions.models import Task
from duftui.engine.templates import logical_local


@dataclass
class StepContext:
    run_id: int
    workspace: Path
    catalogue: Catalogue
    entry: TaskEntry
    params: dict[str, Any]
    connections: dict[str, dict[str, Any]]
    output_dir: Path
    logical_time: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> Task:
        assert self.entry.spec is not None
        return self.entry.spec

    @property
    def folder(self) -> Path:
        return self.entry.folder

    @classmethod
    def from_environment(cls, argv: list[str]) -> StepContext:
        parser = argparse.ArgumentParser(prog="python -m duftui.steps")
        parser.add_argument("--run", type=int, required=True)
        args = parser.parse_args(argv)
        env = os.environ
        workspace = Path(env["DUFTUI_WORKSPACE"])
        catalogue = load_workspace(workspace)
        entry = catalogue.tasks[env["DUFTUI_TASK"]]
        if entry.spec is None:
            raise SystemExit(f"task {entry.key} has definition errors")
        when = env.get("DUFTUI_LOGICAL_TIME")
        at = datetime.fromisoformat(when) if when else datetime.now(UTC)
        return cls(
            run_id=args.run,
            workspace=workspace,
            catalogue=catalogue,
            entry=entry,
            params=json.loads(env.get("DUFTUI_PARAMS") or "{}"),
            connections=json.loads(env.get("DUFTUI_CONNECTIONS") or "{}"),
            output_dir=Path(env["DUFTUI_OUTPUT_DIR"]),
            logical_time=logical_local(at, env.get("DUFTUI_LOGICAL_TZ")),
        )
