"""Projects and connections in the console (issue 7): the project form, the connection
form with a typed secret that never reaches the workspace, test connection, deleting a
connection in use, and which definition keys apply where (80×24)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from duftui.definitions.secrets import SecretStore
from duftui.locations import secrets_file
from duftui.tui.forms.connection_form import ConnectionForm
from duftui.tui.forms.connections_screen import ConnectionsScreen
from duftui.tui.forms.project_form import ProjectForm
from duftui.tui.forms.reschedule_form import RescheduleForm
from duftui.tui.forms.task_form import TaskForm
from duftui.tui.screens.confirm import ConfirmScreen
from tests.tui.conftest import make_app, plain, table_keys, wait_for, wait_settled
from tests.tui.forms_helpers import click, field, files_holding, gone, screen_of, type_into
from tests.tui.helpers import audit_rows, cursor_to, go

pytestmark = pytest.mark.anyio
SIZE = (80, 24)
TYPED = "Typed-s3cret-Value"


async def test_a_typed_secret_goes_to_the_secrets_file_and_nowhere_else(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "2", "ProjectsScreen")
        await pilot.press("C")
        await screen_of(pilot, ConnectionsScreen)
        await wait_settled(pilot)
        await pilot.press("n")
        form = await screen_of(pilot, ConnectionForm)
        form.query_one("#conn-type").set_value("sftp")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: form.query("#conn-fields FieldRow"), what="sftp fields")
        await wait_for(pilot, lambda: [r for r in form.query("FieldRow") if r.field == "host"])
        await type_into(pilot, field(form, "name"), "lab")
        await type_into(pilot, field(form, "host"), "127.0.0.1")
        await type_into(pilot, field(form, "port"), "9")  # nothing listens on discard
        await type_into(pilot, field(form, "username"), "clinic")
        password = field(form, "password")
        assert password.editor.password  # type: ignore[attr-defined]
        await type_into(pilot, password, TYPED)
        # Test connection runs in a worker and reports; the secret is never shown.
        await click(pilot, form.query_one("#conn-test-button"))
        result = form.query_one("#conn-test", Static)
        await wait_for(pilot, lambda: "✗" in plain(result), timeout=30, what="the test result")
        assert TYPED not in plain(result)
        await pilot.press("ctrl+s")
        await gone(pilot, form)
        await wait_for(pilot, lambda: "lab" in app.session.catalogue().connections)
        screen = app.screen
        await wait_for(pilot, lambda: "lab" in table_keys(screen.query_one(DataTable)))
    text = (console_ws / "connections.toml").read_text()
    assert tomllib.loads(text)["lab"] == {
        "type": "sftp",
        "host": "127.0.0.1",
        "username": "clinic",
        "password": {"secret": "lab.password"},
        "port": 9,
    }
    assert text.startswith("# Named connections used by the example tasks.")  # comments kept
    assert SecretStore(secrets_file()).get("lab.password") == TYPED
    assert files_holding(console_ws, TYPED) == []  # state.db, WAL and all
    assert [a[1:3] for a in audit_rows(console_ws)] == [("new", "connection:lab")]


async def test_editing_a_connection_keeps_its_reference_and_tests_it(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.action_open_connections()
        screen = await screen_of(pilot, ConnectionsScreen)
        await wait_settled(pilot)
        await cursor_to(pilot, screen.query_one(DataTable), "clinic_db")
        await pilot.press("e")
        form = await screen_of(pilot, ConnectionForm)
        assert field(form, "clinic_db.path").value() == "tasks/clinic/data/clinic.db"
        await pilot.press("ctrl+t")
        result = form.query_one("#conn-test", Static)
        await wait_for(pilot, lambda: plain(result).strip() not in ("", "testing…"), timeout=30)
        assert "clinic.db" in plain(result)  # not created yet: says which file
        await type_into(pilot, field(form, "clinic_db.description"), "The clinic database")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
    text = (console_ws / "connections.toml").read_text()
    assert 'description = "The clinic database"' in text
    assert "# Named connections used by the example tasks." in text


async def test_deleting_a_connection_in_use_names_its_users_first(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.action_open_connections()
        screen = await screen_of(pilot, ConnectionsScreen)
        await wait_settled(pilot)
        await cursor_to(pilot, screen.query_one(DataTable), "clinic_db")
        assert "1 task" in str(screen.query_one(DataTable).get_row("clinic_db")[3])
        await pilot.press("delete")
        await screen_of(pilot, ConfirmScreen)
        await pilot.press("y")
        second = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ConfirmScreen)
                and "clinic/daily-visits" in app.screen.question
                and app.screen
            ),
            what="the in-use question",
        )
        assert "still used by clinic/daily-visits" in second.question
        await pilot.press("y")
        await wait_for(pilot, lambda: "clinic_db" not in app.session.catalogue().connections)
    assert "clinic_db" not in tomllib.loads((console_ws / "connections.toml").read_text())
    assert [a[1:3] for a in audit_rows(console_ws)] == [("delete", "connection:clinic_db")]


async def test_project_form_creates_a_project_and_edits_one(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "2", "ProjectsScreen")
        await pilot.press("n")
        form = await screen_of(pilot, ProjectForm)
        await type_into(pilot, field(form, "key"), "ops")
        await type_into(pilot, field(form, "name"), "Operations")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: "ops" in table_keys(table), what="the new project")

        await cursor_to(pilot, table, "demo")
        await pilot.press("e")
        form = await screen_of(pilot, ProjectForm)
        await type_into(pilot, field(form, "owner"), "ann")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
    assert (console_ws / "tasks" / "ops" / "project.toml").read_text() == 'name = "Operations"\n'
    demo = (console_ws / "tasks" / "demo" / "project.toml").read_text()
    assert 'owner = "ann"' in demo and '[params]\ngreeting = "Hello"' in demo  # shorthand kept
    assert [a[1:3] for a in audit_rows(console_ws)] == [("new", "ops"), ("edit", "demo")]


async def test_the_definition_keys_apply_where_they_make_sense(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        projects = await go(pilot, "2", "ProjectsScreen")
        assert projects.check_action("edit", ("edit",)) and projects.check_action("edit", ("new",))
        for what in ("duplicate", "delete", "reschedule"):
            assert not projects.check_action("edit", (what,))
        tasks = await go(pilot, "3", "TasksScreen")
        await cursor_to(pilot, tasks.query_one(DataTable), "demo/hello")
        for what in ("edit", "new", "duplicate", "delete", "reschedule"):
            assert tasks.check_action("edit", (what,))
        await pilot.press("s")
        form = await screen_of(pilot, RescheduleForm)
        await pilot.press("escape")
        await gone(pilot, form)
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        assert field(form, "name").value() == "Hello world"


async def test_a_broken_task_opens_with_its_problems_next_to_the_fields(
    console_ws: Path,
) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        tasks = await go(pilot, "3", "TasksScreen")
        await cursor_to(pilot, tasks.query_one(DataTable), "demo/broken")
        await pilot.press("e")
        form = await screen_of(pilot, TaskForm)
        kind = field(form, "run.kind")
        await wait_for(pilot, lambda: kind.has_class("-invalid"), what="the kind marked")
        assert "expected one of python, notebook" in plain(kind.query_one(".field-error"))
        kind.set_value("python")
        await wait_for(pilot, lambda: not kind.has_class("-invalid"), what="fixed as you edit")
        await pilot.press("ctrl+s")
        await gone(pilot, form)
    assert 'kind = "python"' in (console_ws / "tasks" / "demo" / "broken.toml").read_text()


async def test_the_preview_shows_the_next_fires_with_their_utc_offsets(seeded_ws: Path) -> None:
    """Typed in, not saved: Amsterdam's clocks jump on 29 March 2026, so 02:00 does not
    exist that day and fires at 03:00 +02:00, as the daemon will."""
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.push_screen(RescheduleForm(app.session, "clinic/daily-visits"))
        form = await screen_of(pilot, RescheduleForm)
        await type_into(pilot, field(form, "schedule[0].cron"), "0 2 * * *")
        await type_into(pilot, field(form, "schedule[0].timezone"), "Europe/Amsterdam")
        await type_into(pilot, field(form, "schedule[0].start"), "2026-03-27 00:00")
        preview = form.query_one(".schedule-preview", Static)
        await wait_for(pilot, lambda: "Europe/Amsterdam" in plain(preview), what="preview")
        assert plain(preview).split("\n")[:6] == [
            "next fires (Europe/Amsterdam):",
            "  Fri 2026-03-27 02:00:00 +01:00",
            "  Sat 2026-03-28 02:00:00 +01:00",
            "  Sun 2026-03-29 03:00:00 +02:00",
            "  Mon 2026-03-30 02:00:00 +02:00",
            "  Tue 2026-03-31 02:00:00 +02:00",
        ]
        await type_into(pilot, field(form, "schedule[0].cron"), "0 2 * *")
        await wait_for(pilot, lambda: "expected 5 fields" in plain(preview), what="the error")
