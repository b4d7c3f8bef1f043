"""Lists of editable items in a form: parameters, schedules, deliveries, DUFT params.

Each item is a small group of field rows with ↑ ↓ ✕ buttons; the list adds, removes and
reorders them and renumbers their definition paths ("schedule[1]") so problems still
land on the right item after a move.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Label, Static

from duftui.tui.format import escape
from duftui.tui.forms.fields.field_row import ErrorTarget, FieldRow


class ItemEditor(Vertical, ErrorTarget):
    """One item of an ItemList. Subclasses compose their rows in `compose_fields` and
    turn them into TOML data in `data()`."""

    NOUN = "item"

    class Moved(Message):
        def __init__(self, item: ItemEditor, step: int) -> None:
            super().__init__()
            self.item, self.step = item, step

    class Removed(Message):
        def __init__(self, item: ItemEditor) -> None:
            super().__init__()
            self.item = item

    def __init__(self, original: Any = None) -> None:
        super().__init__(classes="item-editor")
        self.original = original
        self.index = 0

    def compose(self) -> ComposeResult:
        with Horizontal(classes="item-head"):
            yield Label(escape(self.heading()), classes="item-title")
            yield Button("↑", compact=True, classes="item-up", tooltip=f"Move this {self.NOUN} up")
            yield Button(
                "↓", compact=True, classes="item-down", tooltip=f"Move this {self.NOUN} down"
            )
            yield Button(
                "✕", compact=True, classes="item-remove", tooltip=f"Remove this {self.NOUN}"
            )
        yield from self.compose_fields()
        yield Static("", classes="item-error")

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def heading(self) -> str:
        return f"{self.NOUN.capitalize()} {self.index + 1}"

    def renumber(self, index: int, prefix: str) -> None:
        """Give the item its place in the list and its rows their definition paths."""
        self.index = index
        self.path = self.item_path(index, prefix)
        for row in self.rows():
            row.path = f"{self.path}.{row.field}"
        if self.is_mounted:
            self.query_one(".item-title", Label).update(escape(self.heading()))

    def item_path(self, index: int, prefix: str) -> str:
        return f"{prefix}[{index}]"

    def rows(self) -> list[FieldRow]:
        return list(self.query(FieldRow))

    def data(self) -> Any:
        raise NotImplementedError

    def show_errors(self, messages: list[str]) -> None:
        self.set_class(bool(messages), "-invalid")
        self.query_one(".item-error", Static).update(escape("\n".join(f"✗ {m}" for m in messages)))

    def focus_target(self) -> Widget | None:
        rows = self.rows()
        return rows[0].focus_target() if rows else None

    @on(Button.Pressed, ".item-up")
    def _up(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Moved(self, -1))

    @on(Button.Pressed, ".item-down")
    def _down(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Moved(self, 1))

    @on(Button.Pressed, ".item-remove")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Removed(self))


class ItemList(Vertical):
    """Items made by `factory(original)`; an "Add" button appends an empty one."""

    class Changed(Message):
        """An item was added, removed or moved (previews and validation follow)."""

    def __init__(
        self,
        prefix: str,
        factory: Callable[[Any], ItemEditor],
        originals: list[Any],
        add_label: str,
        *,
        empty: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="item-list")
        self.prefix = prefix
        self.factory = factory
        self.originals = originals
        self.add_label = add_label
        self.empty_text = empty

    def compose(self) -> ComposeResult:
        for original in self.originals:
            yield self.factory(original)
        yield Static(self.empty_text, classes="item-empty")
        yield Button(self.add_label, compact=True, classes="item-add")

    def on_mount(self) -> None:
        self.renumber()

    def items(self) -> list[ItemEditor]:
        return [child for child in self.children if isinstance(child, ItemEditor)]

    def renumber(self) -> None:
        items = self.items()
        for index, item in enumerate(items):
            item.renumber(index, self.prefix)
        self.query_one(".item-empty").display = not items and bool(self.empty_text)

    def data(self) -> list[Any]:
        self.renumber()
        return [item.data() for item in self.items()]

    async def add(self, original: Any = None) -> ItemEditor:
        item = self.factory(original)
        await self.mount(item, before=self.query_one(".item-empty"))
        self.renumber()
        self.post_message(self.Changed())
        return item

    @on(Button.Pressed, ".item-add")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        item = await self.add()
        target = item.focus_target()
        if target is not None:
            target.focus()
        item.scroll_visible()

    @on(ItemEditor.Removed)
    async def _removed(self, event: ItemEditor.Removed) -> None:
        event.stop()
        await event.item.remove()
        self.renumber()
        self.post_message(self.Changed())

    @on(ItemEditor.Moved)
    def _moved(self, event: ItemEditor.Moved) -> None:
        event.stop()
        items = self.items()
        index = items.index(event.item)
        target = index + event.step
        if not 0 <= target < len(items):
            return
        if event.step < 0:
            self.move_child(event.item, before=items[target])
        else:
            self.move_child(event.item, after=items[target])
        self.renumber()
        self.post_message(self.Changed())
