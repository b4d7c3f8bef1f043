"""The task form (`e` on a task, `n` for a new one): every field of DESIGN §2 in tabs.

It edits the file's own TOML data: keys the form does not show stay as they are, and
what the operator leaves untouched is not rewritten, so comments and spelling survive
(`save_task` keeps them with tomlkit). Validation is `validate_task`'s, so a problem
reads exactly as `duftui validate` would print it, next to its field.
"""

from __future__ import annotations

import copy
from functools import partial
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Select, SelectionList, TabPane
from textual.widgets.selection_list import Selection

from duftui.definitions.editing import SaveResult, open_task, save_task, validate_task
from duftui.definitions.loader import TASKS_DIR
from duftui.definitions.problems import Problem
from duftui.tui.forms import task_sections as sections
from duftui.tui.forms.base_form import DefinitionForm
from duftui.tui.forms.fields.deliver_editor import DeliverEditor
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemEditor, ItemList
from duftui.tui.forms.fields.param_editor import ParamEditor
from duftui.tui.forms.fields.schedule_editor import ScheduleEditor
from duftui.tui.forms.fields.values import get_path, set_path
from duftui.tui.forms.tabs import FormTabs
from duftui.tui.session import Session

NEW_TASK: dict[str, Any] = {"name": "", "run": {"kind": "python"}}


class TaskForm(DefinitionForm):
    """Edit the task `key`, or create one in `project` when `key` is None."""

    HAS_TABS = True

    def __init__(self, session: Session, key: str | None = None, project: str = "") -> None:
        self.key = key
        catalogue = session.catalogue()
        if key is not None:
            entry = catalogue.task(key)
            project, self.task_name = entry.project, entry.name
        else:
            self.task_name = ""
        self.project = project or next(iter(sorted(catalogue.projects)), "")
        title = f"Edit task {key}" if key else f"New task in {self.project}"
        super().__init__(session, title)
        self.reopen()

    @property
    def new(self) -> bool:
        return self.key is None

    def reopen(self) -> None:
        catalogue = self.session.catalogue()
        self.readable = True
        if self.key is None:
            self.digest: str | None = None
            self.data: dict[str, Any] = copy.deepcopy(NEW_TASK)
            self.rel = f"{TASKS_DIR}/{self.project}/…"
            self.opened_problems = []
            return
        draft = open_task(catalogue, self.key)
        self.digest = draft.digest
        self.readable = draft.data is not None  # not TOML: fix it in an editor first
        self.data = draft.data if draft.data is not None else {}
        self.rel = draft.rel
        self.opened_problems = list(draft.problems)

    def context(self) -> sections.TaskFormContext:
        catalogue = self.session.catalogue()
        return sections.TaskFormContext(
            data=self.data,
            new=self.new,
            project=self.project,
            projects=sorted(catalogue.projects),
            siblings=self._siblings(self.project),
            connections=sorted(catalogue.connections),
        )

    def _siblings(self, project: str) -> list[str]:
        catalogue = self.session.catalogue()
        return sorted(
            e.name for e in catalogue.project_tasks(project) if e.key != self.key
        ) if project in catalogue.projects else []  # fmt: skip

    # -- layout --------------------------------------------------------------------------

    def compose_form(self) -> ComposeResult:
        ctx = self.context()
        now, zone = self.session.now(), self.session.tz
        connections = ctx.connections
        with FormTabs(id="form-tabs"):
            with TabPane("General", id="tab-general"), VerticalScroll():
                yield from sections.general(ctx)
            with TabPane("Run", id="tab-run"), VerticalScroll():
                yield from sections.run(ctx)
            with TabPane("Params", id="tab-params"), VerticalScroll():
                yield ItemList(
                    "params",
                    ParamEditor,
                    list((self.data.get("params") or {}).items()),
                    "+ parameter",
                    empty="No parameters of its own (project [params] still apply).",
                    id="params",
                )
            with TabPane("Retry", id="tab-retry"), VerticalScroll():
                yield from sections.retry(ctx)
            with TabPane("Schedules", id="tab-schedules"), VerticalScroll():
                yield ItemList(
                    "schedule",
                    partial(ScheduleEditor, now=now, zone=zone),
                    list(self.data.get("schedule") or []),
                    "+ schedule",
                    empty="No schedules: it runs when started (r) or needed.",
                    id="schedules",
                )
            with TabPane("Pipeline", id="tab-pipeline"), VerticalScroll():
                yield from sections.source(ctx)
                yield from sections.processing(ctx)
                yield from sections.output(ctx)
                with sections.Section("deliver", "deliver", id="section-deliver"):
                    yield ItemList(
                        "deliver",
                        partial(DeliverEditor, connections=connections),
                        list(self.data.get("deliver") or []),
                        "+ delivery",
                        empty="No deliveries: the output stays in the run's folder.",
                        id="deliver",
                    )
                yield from sections.notify(ctx)

    def refresh_visibility(self) -> None:
        self._apply_kind()

    def project_folder(self) -> Path:
        entry = self.session.catalogue().projects.get(self._project())
        return entry.path if entry else self.session.workspace / TASKS_DIR / self._project()

    # -- run kind and optional tables ----------------------------------------------------

    def _rows(self) -> list[FieldRow]:
        """The rows of the file's own keys (not inside a list item, not meta rows)."""
        return [
            r
            for r in self.query(FieldRow)
            if not getattr(r, "meta", False) and not any(isinstance(a, ItemEditor) for a in r.ancestors)
        ]  # fmt: skip

    def _meta(self, name: str) -> FieldRow | None:
        found = [r for r in self.query(FieldRow) if getattr(r, "meta", False) and r.field == name]
        return found[0] if found else None

    def _kind(self) -> str:
        row = next((r for r in self._rows() if r.path == "run.kind"), None)
        return str(row.value() or "python") if row else "python"

    def _project(self) -> str:
        row = self._meta("project")
        return str(row.value()) if row is not None and row.value() else self.project

    def _apply_kind(self) -> None:
        """Show the fields this run kind uses (and any the file sets anyway)."""
        kind = self._kind()
        for row in self._rows():
            kinds = sections.KIND_FIELDS.get(row.path)
            if kinds is not None:
                row.set_class(kind not in kinds and get_path(self.data, row.path) is None, "-off")
        source_off = kind not in sections.PIPELINE_KINDS and "source" not in self.data
        self.query_one("#section-source").set_class(source_off, "-off")
        for table in sections.OPTIONAL_TABLES:
            toggle = self._meta(f"use-{table}")
            on_ = bool(toggle and toggle.value())
            self.query_one(f"#body-{table}").set_class(not on_, "-off")

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        project = self._meta("project")
        if project is not None and event.select is project.editor:
            self._refill_needs()
        self._apply_kind_soon()

    def on_checkbox_changed(self) -> None:
        self._apply_kind_soon()

    _kind_pending = False

    def _apply_kind_soon(self) -> None:
        """Once per refresh: mounting the form posts a Changed for every Select and
        Checkbox, and each pass styles the whole form again (seconds on a busy machine)."""
        if not self._kind_pending:
            self._kind_pending = True
            self.call_after_refresh(self._apply_kind_now)

    def _apply_kind_now(self) -> None:
        self._kind_pending = False
        if self.is_attached:
            self._apply_kind()

    def _refill_needs(self) -> None:
        needs = next(r for r in self._rows() if r.path == "needs")
        editor = needs.editor
        assert isinstance(editor, SelectionList)
        editor.clear_options()
        editor.add_options([Selection(n, n) for n in self._siblings(self._project())])

    # -- data ----------------------------------------------------------------------------

    def collect(self) -> dict[str, Any]:
        data = copy.deepcopy(self.data)
        for row in self._rows():
            value = row.value() if self._shown(row) else None
            if get_path(self.data, row.path) is None and self._untouched_default(row, value):
                value = None  # not in the file and still the default: keep it out
            set_path(data, row.path, value)
        for table in sections.OPTIONAL_TABLES:
            toggle = self._meta(f"use-{table}")
            if toggle is not None and not toggle.value():
                data[table] = None
        if self.query_one("#section-source").has_class("-off"):
            data["source"] = None
        for table in ("retry", "source", *sections.OPTIONAL_TABLES):
            if isinstance(data.get(table), dict) and table not in self.data:
                if all(value in (None, False, []) for value in data[table].values()):
                    data[table] = None  # nothing typed in a table the file did not have
        data["params"] = dict(self.query_one("#params", ItemList).data())
        data["schedule"] = self.query_one("#schedules", ItemList).data()
        data["deliver"] = self.query_one("#deliver", ItemList).data()
        for key in ("params", "schedule", "deliver"):
            data[key] = data[key] or None  # an emptied list goes, header and all
        return data

    @staticmethod
    def _untouched_default(row: FieldRow, value: Any) -> bool:
        """An empty list or table, or a switch left as it was shown. Such values are
        left out even while the form is invalid, so problem lines match the file."""
        if row.kind == "bool":
            return value == bool(row.initial)
        return isinstance(value, list | dict) and not value

    def _target(self) -> tuple[str, str]:
        if self.new:
            key_row = self._meta("key")
            return self._project(), (key_row.text.strip() if key_row else "")
        return self.project, self.task_name

    def validate(self, data: dict[str, Any]) -> list[Problem]:
        project, name = self._target()
        return validate_task(self.session.catalogue(), project, name, data, new=self.new)

    def write(self, data: dict[str, Any], overwrite: bool) -> SaveResult:
        project, name = self._target()
        return save_task(
            self.session.workspace,
            project,
            name,
            data,
            opened_digest=self.digest,
            user=self.session.user,
            store=self.session.store(),
            overwrite=overwrite,
        )
