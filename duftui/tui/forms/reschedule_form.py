"""`s`: the short form for just a task's schedules and its enabled switch.

It writes through `reschedule_task`, which leaves every other key of the file as it is,
and shows each schedule's next fires while you type, like the task form does.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from duftui.definitions.editing import SaveResult, open_task, reschedule_task, validate_task
from duftui.definitions.problems import Problem
from duftui.tui.forms.base_form import DefinitionForm
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemList
from duftui.tui.forms.fields.schedule_editor import ScheduleEditor
from duftui.tui.session import Session


class RescheduleForm(DefinitionForm):
    """Schedules and `enabled` of the task `key`."""

    def __init__(self, session: Session, key: str) -> None:
        self.key = key
        super().__init__(session, f"Schedules of {key}")
        self.reopen()

    def reopen(self) -> None:
        catalogue = self.session.catalogue()
        entry = catalogue.task(self.key)
        self.project, self.task_name = entry.project, entry.name
        draft = open_task(catalogue, self.key)
        self.digest = draft.digest
        self.data: dict[str, Any] = draft.data if draft.data is not None else {}
        self.opened_problems = [p for p in draft.problems if self._mine(p)]

    @staticmethod
    def _mine(problem: Problem) -> bool:
        return problem.field.startswith(("schedule", "enabled")) or not problem.field

    def compose_form(self) -> ComposeResult:
        with VerticalScroll(classes="form-body"):
            yield FieldRow(
                "enabled", "enabled (schedules fire)", "bool", self.data.get("enabled", True)
            )
            yield ItemList(
                "schedule",
                partial(ScheduleEditor, now=self.session.now(), zone=self.session.tz),
                list(self.data.get("schedule") or []),
                "+ schedule",
                empty="No schedules: it runs when started (r) or needed.",
                id="schedules",
            )

    def schedules(self) -> list[dict[str, Any]]:
        return self.query_one("#schedules", ItemList).data()

    def enabled(self) -> bool:
        return bool(self.query_one(FieldRow).value())

    def collect(self) -> dict[str, Any]:
        data = copy.deepcopy(self.data)
        data["schedule"] = self.schedules() or None
        data["enabled"] = self.enabled()
        return data

    def validate(self, data: dict[str, Any]) -> list[Problem]:
        problems = validate_task(
            self.session.catalogue(), self.project, self.task_name, data, new=False
        )
        return [p for p in problems if self._mine(p)]

    def write(self, data: dict[str, Any], overwrite: bool) -> SaveResult:
        return reschedule_task(
            self.session.workspace,
            self.key,
            self.schedules_from(data),
            bool(data.get("enabled", True)),
            opened_digest=self.digest,
            user=self.session.user,
            store=self.session.store(),
            overwrite=overwrite,
        )

    @staticmethod
    def schedules_from(data: dict[str, Any]) -> list[dict[str, Any]]:
        from duftui.definitions.edit_base import normalize

        return [normalize(s) for s in data.get("schedule") or []]
