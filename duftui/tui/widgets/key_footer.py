"""The footer: every key of the screen in order of importance, each shown whole.

Textual's footer clips the row at the terminal's edge, so at 80 columns the last key was
cut mid-word ("c Cance", "del"). This one keeps the keys that fit completely, in the
order the screen lists them (the most important first), and the command palette key;
`?` and `ctrl+p` list the rest.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A compact footer that drops whole keys from the end when the row is full."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._width = 0
        self._shown: tuple[object, ...] | None = None
        self.hidden_keys: list[str] = []  # what did not fit (tests read it)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        app = self.app
        active = self.screen.active_bindings
        seen: set[str] = set()
        keys: list[FooterKey] = []
        for _node, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append(
                FooterKey(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                ).data_bind(compact=Footer.compact)
            )
        palette: FooterKey | None = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            found = active.get(app.COMMAND_PALETTE_BINDING)
            if found is not None:
                palette = FooterKey(
                    found.binding.key,
                    app.get_key_display(found.binding),
                    found.binding.description,
                    found.binding.action,
                    classes="-command-palette",
                    tooltip=found.binding.tooltip or found.binding.description,
                )
        room = (self.size.width or app.size.width) - (_width(palette) + 1 if palette else 0)
        self.hidden_keys = []
        for item in keys:
            needed = _width(item) + 1  # the key's margin
            if needed <= room and not self.hidden_keys:
                room -= needed
                yield item
            else:
                self.hidden_keys.append(item.key)
        if palette is not None:
            yield palette

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Rebuild only when what the footer shows differs: a rebuild mounts and styles a
        dozen widgets, and bindings are refreshed on every key and reload (while a task
        floods its log that was most of the console's time)."""
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        shown = self._signature()
        if shown != self._shown:
            self._shown = shown
            self.call_after_refresh(self.recompose)

    def _signature(self) -> tuple[object, ...]:
        active = self.screen.active_bindings
        return (
            self.size.width,
            *((key, b.binding.action, b.binding.description, b.enabled, b.binding.show)
              for key, b in active.items()),
        )

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            if self._bindings_ready:
                self._shown = self._signature()
                self.call_after_refresh(self.recompose)


def _width(item: FooterKey) -> int:
    """Cells of a compact key: "k Description"."""
    return cell_len(item.key_display) + (1 + cell_len(item.description) if item.description else 0)
