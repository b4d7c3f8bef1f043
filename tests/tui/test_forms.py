"""Editing tasks in the console (issue 7), on real files in a private workspace at 80×24:
create through the form, run, reschedule, duplicate, delete and restore, checking the
TOML on disk after each step; comments survive; bad input blocks saving; conflicts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from duftui.definitions.editing import list_trash
from duftui.store.audit import current_user
from duftui.tui.forms.conflict import ConflictScreen
from duftui.tui.forms.fields.file_picker import FilePicker
from duftui.tui.forms.fields.item_list import ItemList
from duftui.tui.forms.reschedule_form import RescheduleForm
from duftui.tui.forms.task_form import TaskForm
from duftui.tui.forms.trash_screen import TrashScreen
from duftui.tui.screens.confirm import ConfirmScreen
from tests.tui.conftest import make_app, plain, table_keys, wait_for, wait_settled
from tests.tui.forms_helpers import (
    click,
    field,
    field_ready,
    gone,
    screen_of,
    show_tab,
    type_into,
)
from tests.tui.helpers import audit_rows, cursor_to, go, run_rows

pytestmark = pytest.mark.anyio
SIZE = (80, 24)

HAND_WRITTEN = """\
# Written by hand; the console must keep these comments.
name = "Commented"   # what the console shows
description = "Before"

[run]
kind = "python"
file = "scripts/hello.py"  # the greeting script

[[schedule]]
# every morning
cron = "0 6 * * *"
"""


async def on_task_row(pilot, key: str):  # type: ignore[no-untyped-def]
    screen = await go(pilot, "3", "TasksScreen")
    table = screen.query_one(DataTable)
    await cursor_to(pilot, table, key)
    return screen


async def reloaded(pilot, app, key: str, present: bool = True) -> None:  # type: ignore[no-untyped-def]
    """The console re-read the definitions and the Tasks table shows the change."""
    await wait_for(
        pilot, lambda: (key in app.session.catalogue().tasks) == present, what=f"{key} loaded"
    )
    await wait_settled(pilot)
    table = app.screen.query_one(DataTable)
    await wait_for(pilot, lambda: (key in table_keys(table)) == present, what=f"{key} row")


async def test_create_run_reschedule_duplicate_delete_restore(console_ws: Path) -> None:
    app = make_app(console_ws)
    demo = console_ws / "tasks" / "demo"
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/hello")

        # n: a new task in the selected task's project, the script picked from a list.
        await pilot.press("n")
        form = await screen_of(pilot, TaskForm)
        assert field(form, "project").value() == "demo"
        await type_into(pilot, field(form, "key"), "nightly")
        await type_into(pilot, field(form, "name"), "Nightly hello")
        await show_tab(pilot, form, "tab-run")
        await click(pilot, field(form, "run.file").query_one(".field-pick"))
        picker = await screen_of(pilot, FilePicker)
        await pilot.press("h", "e", "l", "l", "o", "enter")
        await gone(pilot, picker)
        assert field(form, "run.file").value() == "scripts/hello.py"
        await show_tab(pilot, form, "tab-schedules")
        await click(pilot, form.query_one("#schedules .item-add"))
        await wait_for(pilot, lambda: form.query("#schedules .item-editor"), what="a schedule")
        await type_into(pilot, await field_ready(pilot, form, "schedule[0].cron"), "0 6 * * *")
        preview = form.query_one(".schedule-preview", Static)
        await wait_for(pilot, lambda: "06:00:00" in plain(preview), what="the preview")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
        await reloaded(pilot, app, "demo/nightly")
        assert (demo / "nightly.toml").read_text() == (
            'name = "Nightly hello"\n'
            "\n"
            "[run]\n"
            'kind = "python"\n'
            'file = "scripts/hello.py"\n'
            "\n"
            "[[schedule]]\n"
            'cron = "0 6 * * *"\n'
        )

        # r: the new task runs.
        await cursor_to(pilot, app.screen.query_one(DataTable), "demo/nightly")
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: [r for r in run_rows(console_ws) if r["status"] == "succeeded"],
            what="the run to succeed",
        )

        # s: reschedule touches the schedule and enabled only.
        await pilot.press("s")
        short = await screen_of(pilot, RescheduleForm)
        await type_into(pilot, field(short, "schedule[0].cron"), "30 7 * * 1-5")
        await pilot.press("ctrl+s")
        await gone(pilot, short)
        await wait_for(
            pilot, lambda: "30 7 * * 1-5" in (demo / "nightly.toml").read_text(), what="save"
        )
        assert (demo / "nightly.toml").read_text() == (
            'name = "Nightly hello"\n'
            "\n"
            "[run]\n"
            'kind = "python"\n'
            'file = "scripts/hello.py"\n'
            "\n"
            "[[schedule]]\n"
            'cron = "30 7 * * 1-5"\n'
        )

        # d: a disabled copy, named "… (copy)".
        await pilot.press("d")
        await reloaded(pilot, app, "demo/nightly-copy")
        copy = tomllib.loads((demo / "nightly-copy.toml").read_text())
        assert copy["name"] == "Nightly hello (copy)" and copy["enabled"] is False
        assert copy["schedule"] == [{"cron": "30 7 * * 1-5"}]

        # delete: asks, then moves the file to the trash; the run history stays.
        await cursor_to(pilot, app.screen.query_one(DataTable), "demo/nightly")
        before_delete = (demo / "nightly.toml").read_text()
        await pilot.press("delete")
        await screen_of(pilot, ConfirmScreen)
        await pilot.press("y")
        await reloaded(pilot, app, "demo/nightly", present=False)
        assert not (demo / "nightly.toml").exists()
        (trashed,) = list_trash(console_ws)
        assert trashed.target == "demo/nightly" and trashed.path.exists()
        assert run_rows(console_ws, "task_key = 'demo/nightly'")

        # T: the trash lists it; r restores it where it was, as it was.
        await pilot.press("T")
        trash = await screen_of(pilot, TrashScreen)
        await wait_settled(pilot)
        assert table_keys(trash.query_one(DataTable)) == [trashed.id]
        await pilot.press("r")
        await wait_for(pilot, lambda: (demo / "nightly.toml").exists(), what="the restore")
        await wait_for(pilot, lambda: "demo/nightly" in app.session.catalogue().tasks)
        assert (demo / "nightly.toml").read_text() == before_delete
        await wait_for(pilot, lambda: not trash.entries, what="the trash to empty")

    actions = [(action, target) for _, action, target, _ in audit_rows(console_ws)]
    assert actions == [
        ("new", "demo/nightly"),
        ("run", "demo/nightly"),
        ("reschedule", "demo/nightly"),
        ("duplicate", "demo/nightly-copy"),
        ("delete", "demo/nightly"),
        ("restore", "demo/nightly"),
    ]
    assert {user for user, _, _, _ in audit_rows(console_ws)} == {current_user()}


async def test_an_edit_keeps_the_comments_of_a_hand_written_file(console_ws: Path) -> None:
    path = console_ws / "tasks" / "demo" / "commented.toml"
    path.write_text(HAND_WRITTEN)
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/commented")
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        await type_into(pilot, field(form, "description"), "After")
        await show_tab(pilot, form, "tab-schedules")
        await type_into(pilot, field(form, "schedule[0].cron"), "0 7 * * *")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
    assert path.read_text() == HAND_WRITTEN.replace('"Before"', '"After"').replace(
        '"0 6 * * *"', '"0 7 * * *"'
    )
    assert [a[1:3] for a in audit_rows(console_ws)] == [("edit", "demo/commented")]


async def test_an_invalid_cron_blocks_saving_with_the_located_message(console_ws: Path) -> None:
    path = console_ws / "tasks" / "clinic" / "daily-visits.toml"
    before = path.read_text()
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "clinic/daily-visits")
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        await show_tab(pilot, form, "tab-schedules")
        cron = field(form, "schedule[0].cron")
        await type_into(pilot, cron, "0 15 25 * * *")
        await pilot.press("tab")  # move away, as a person would, before saving
        await pilot.press("ctrl+s")
        message = 'expected hour 0-23, got 25 (in "0 15 25 * * *")'
        await wait_for(pilot, lambda: cron.has_class("-invalid"), what="the field marked")
        assert message in plain(cron.query_one(".field-error", Static))
        summary = plain(form.query_one("#form-problems", Static))
        assert f"tasks/clinic/daily-visits.toml:28: schedule[0].cron: {message}" in summary
        assert app.screen is form and cron.editor.has_focus  # refused; the field to fix
        assert "✗" in str(form.query_one(TabbedContent).get_tab("tab-schedules").label)
        # Fixing it clears the mark as you type; then it saves.
        await type_into(pilot, cron, "0 15 5 * * *")
        await wait_for(pilot, lambda: not cron.has_class("-invalid"), what="the mark to clear")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
    assert path.read_text() == before.replace('"0 15 6 * * *"', '"0 15 5 * * *"')


async def test_a_file_changed_on_disk_offers_reload_then_overwrite(console_ws: Path) -> None:
    path = console_ws / "tasks" / "demo" / "hello.toml"
    original = path.read_text()
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/hello")
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        await type_into(pilot, field(form, "description"), "From the form")
        by_hand = original.replace('name = "Hello world"', 'name = "Hello by hand"')
        path.write_text(by_hand)
        await pilot.press("ctrl+s")
        await screen_of(pilot, ConflictScreen)
        assert path.read_text() == by_hand  # nothing clobbered while asking
        await pilot.press("r")  # reload: the form now shows the file as it is
        await wait_for(pilot, lambda: app.screen is form, what="back to the form")
        await wait_for(
            pilot, lambda: field(form, "name").value() == "Hello by hand", what="the reload"
        )
        assert (
            field(form, "description").value() == "Prints a greeting and a few lines of progress."
        )
        await type_into(pilot, field(form, "description"), "Second try")
        again = by_hand + "# touched again\n"
        path.write_text(again)
        await pilot.press("ctrl+s")
        await screen_of(pilot, ConflictScreen)
        await pilot.press("o")  # overwrite: the form's values win
        await gone(pilot, form)
    written = path.read_text()
    assert 'description = "Second try"' in written and 'name = "Hello by hand"' in written
    assert [a[1:3] for a in audit_rows(console_ws)] == [("edit", "demo/hello")]


async def test_new_task_form_refuses_a_taken_key_and_a_missing_name(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/hello")
        await pilot.press("n")
        form = await screen_of(pilot, TaskForm)
        await type_into(pilot, field(form, "key"), "hello")
        await pilot.press("ctrl+s")
        key = field(form, "key")
        await wait_for(pilot, lambda: key.has_class("-invalid"), what="the key marked")
        assert "task key 'hello' is taken (tasks/demo/hello.toml); choose another" in plain(
            key.query_one(".field-error", Static)
        )
        assert field(form, "name").has_class("-invalid")
        assert key.editor.has_focus
        await pilot.press("escape")  # nothing saved, so nothing to confirm
        await gone(pilot, form)
    assert not (console_ws / "tasks" / "demo" / "hello.toml").read_text().startswith("#")


async def test_params_are_added_reordered_and_removed(console_ws: Path) -> None:
    app = make_app(console_ws)
    path = console_ws / "tasks" / "demo" / "greet.toml"
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/greet")
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        await show_tab(pilot, form, "tab-params")
        params = form.query_one("#params", ItemList)
        assert [item.path for item in params.items()] == [
            "params.who",
            "params.times",
            "params.day",
        ]
        await click(pilot, params.items()[2].query_one(".item-remove"))
        await wait_for(pilot, lambda: len(params.items()) == 2, what="the removal")
        await click(pilot, form.query_one("#params .item-add"))
        await wait_for(pilot, lambda: len(params.items()) == 3, what="a new parameter")
        await type_into(pilot, await field_ready(pilot, form, "params[2].name"), "region")
        await type_into(pilot, field(form, "params[2].default"), "north")
        await click(pilot, params.items()[1].query_one(".item-up"))
        await wait_for(pilot, lambda: params.items()[0].path == "params.times", what="the move")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
    data = tomllib.loads(path.read_text())
    # An existing file keeps its own order of tables (comments stay with them); the
    # move shows in the form and orders new files (see docs/console.md).
    assert list(data["params"]) == ["who", "times", "region"]
    assert data["params"]["times"] == {"default": 2, "title": "How many times",
                                       "allow_override": True}  # fmt: skip
    assert data["params"]["region"] == {"default": "north"}
    assert "day" not in data["params"]
