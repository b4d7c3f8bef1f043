"""Forms and the session around them (issue 20): the focus shows, a stray key does not
replace a value, one toast per save, the theme is remembered, Leave says what it left."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Label

from duftui.tui import settings
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.task_form import TaskForm
from duftui.tui.screens.params import ParamsScreen
from duftui.tui.screens.quit import QuitScreen
from tests.tui.conftest import make_app, wait_for, wait_settled
from tests.tui.forms_helpers import gone, screen_of
from tests.tui.helpers import capture_notifications, cursor_to, go, screen_named

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "console.toml"
    monkeypatch.setenv("DUFTUI_CONSOLE_SETTINGS", str(path))
    return path


async def test_a_form_opens_without_selecting_the_name_and_shows_its_focus(
    console_ws: Path,
) -> None:
    app = make_app(console_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        await cursor_to(pilot, screen.query_one(DataTable), "demo/hello")
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        editor = app.focused
        assert isinstance(editor, Input)
        before = editor.value
        assert before and editor.selection.is_empty
        await pilot.press("x")
        assert editor.value == before + "x"  # typed after the name, not over it
        row = next(a for a in editor.ancestors if isinstance(a, FieldRow))
        label = row.query_one(".field-label", Label)
        await wait_for(pilot, lambda: label.rich_style.bold, what="the label to stand out")
        other = next(r for r in form.query(FieldRow) if r is not row and r.kind != "bool")
        assert not other.query_one(".field-label", Label).rich_style.bold


async def test_a_save_says_so_once(console_ws: Path) -> None:
    app = make_app(console_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        await cursor_to(pilot, screen.query_one(DataTable), "demo/hello")
        seen = capture_notifications(app)
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        await pilot.press("x", "ctrl+s")
        await gone(pilot, form)
        await wait_for(pilot, lambda: seen, what="the toast")
        await wait_settled(pilot)
        await wait_for(pilot, lambda: not any(w.group == "reload" and w.is_running
                                              for w in app.workers), what="the reload")
        assert len(seen) == 1 and seen[0].startswith("saved tasks/demo/hello.toml"), seen


async def test_the_theme_is_remembered(console_ws: Path, private_settings: Path) -> None:
    app = make_app(console_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        first = app.theme
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: app.theme != first, what="the other theme")
        chosen = app.theme
    assert settings.load(private_settings)["theme"] == chosen
    again = make_app(console_ws, frozen=True)
    async with again.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        assert again.theme == chosen


def test_an_unreadable_settings_file_is_ignored(private_settings: Path) -> None:
    private_settings.write_text("theme = [not toml", encoding="utf-8")
    assert settings.load(private_settings) == {}
    assert settings.save("theme", "textual-light", private_settings)
    assert settings.load(private_settings) == {"theme": "textual-light"}


async def test_quitting_with_leave_says_what_keeps_running(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/slow")
        await screen_named(pilot, "TaskScreen")
        await pilot.press("R")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and app.screen)
        dialog.query_one("#param-ticks", Input).value = "40"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.runner.running_ids, what="the run to start")
        said: list[str] = []
        exit_app = app.exit

        def exit_recorded(*args, message=None, **kwargs):  # type: ignore[no-untyped-def]
            said.append(str(message or ""))  # printed once the console has closed
            exit_app(*args, message=message, **kwargs)

        app.exit = exit_recorded  # type: ignore[method-assign]
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        await pilot.press("l")
        await wait_for(pilot, lambda: app._exit, what="the app to quit")
    assert "1 run still running" in said[0] and "console-supervisor.log" in said[0]
