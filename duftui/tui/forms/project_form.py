"""The project form (`e` / `n` on Projects): name, description, owner, sequence_tasks,
the parameters every task inherits, and project-level schedules."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import TabPane

from duftui.definitions.editing import SaveResult, open_project, save_project, validate_project
from duftui.definitions.problems import Problem
from duftui.tui.forms.base_form import DefinitionForm
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemList
from duftui.tui.forms.fields.param_editor import ParamEditor
from duftui.tui.forms.fields.schedule_editor import ScheduleEditor
from duftui.tui.forms.tabs import FormTabs
from duftui.tui.session import Session

FIELDS = ("name", "description", "owner", "sequence_tasks", "max_parallel")


class ProjectForm(DefinitionForm):
    """Edit `project`'s project.toml, or create a new project folder when it is None."""

    HAS_TABS = True

    def __init__(self, session: Session, project: str | None = None) -> None:
        self.key = project
        super().__init__(session, f"Edit project {project}" if project else "New project")
        self.reopen()

    @property
    def new(self) -> bool:
        return self.key is None

    def reopen(self) -> None:
        if self.key is None:
            self.digest: str | None = None
            self.data: dict[str, Any] = {}
            self.opened_problems = []
            return
        draft = open_project(self.session.catalogue(), self.key)
        self.digest = draft.digest
        self.data = draft.data if draft.data is not None else {}
        self.opened_problems = list(draft.problems)

    def compose_form(self) -> ComposeResult:
        data = self.data
        with FormTabs(id="form-tabs"):
            with TabPane("General", id="tab-general"), VerticalScroll():
                if self.new:
                    key = FieldRow("key", "key", "text", "", placeholder="folder name under tasks/")
                    key.meta = True  # type: ignore[attr-defined]
                    yield key
                yield FieldRow("name", "name", "text", data.get("name"))
                yield FieldRow("description", "description", "text", data.get("description"))
                yield FieldRow("owner", "owner", "text", data.get("owner"), placeholder="OS user")
                yield FieldRow(
                    "sequence_tasks",
                    "run tasks in series",
                    "bool",
                    data.get("sequence_tasks", False),
                    tooltip="A project schedule runs its tasks one after another by rank",
                )
                yield FieldRow(
                    "max_parallel",
                    "max parallel",
                    "int",
                    data.get("max_parallel"),
                    placeholder="no limit of its own",
                )
            with TabPane("Params", id="tab-params"), VerticalScroll():
                yield ItemList(
                    "params",
                    ParamEditor,
                    list((data.get("params") or {}).items()),
                    "+ parameter",
                    empty="No parameters: every task of the project inherits these.",
                    id="params",
                )
            with TabPane("Schedules", id="tab-schedules"), VerticalScroll():
                yield ItemList(
                    "schedule",
                    partial(ScheduleEditor, now=self.session.now(), zone=self.session.tz),
                    list(data.get("schedule") or []),
                    "+ schedule",
                    empty="No project schedules (each task may have its own).",
                    id="schedules",
                )

    def _key(self) -> str:
        if self.key is not None:
            return self.key
        rows = [r for r in self.query(FieldRow) if r.field == "key"]
        return rows[0].text.strip() if rows else ""

    def collect(self) -> dict[str, Any]:
        data = copy.deepcopy(self.data)
        for row in self.query(FieldRow):
            if row.field in FIELDS and row.path == row.field:
                value = row.value()
                if row.field == "sequence_tasks" and not value and row.field not in self.data:
                    value = None
                data[row.field] = value
        data["params"] = dict(self.query_one("#params", ItemList).data()) or None
        data["schedule"] = self.query_one("#schedules", ItemList).data() or None
        return data

    def validate(self, data: dict[str, Any]) -> list[Problem]:
        return validate_project(self.session.catalogue(), self._key(), data, new=self.new)

    def write(self, data: dict[str, Any], overwrite: bool) -> SaveResult:
        return save_project(
            self.session.workspace,
            self._key(),
            data,
            opened_digest=self.digest,
            user=self.session.user,
            store=self.session.store(),
            overwrite=overwrite,
        )
