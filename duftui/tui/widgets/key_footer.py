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
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A compact footer that drops whole keys from the end when the row is full."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._width = 0
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

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            if self._bindings_ready:
                self.call_after_refresh(self.recompose)


def _width(item: FooterKey) -> int:
    """Cells of a compact key: "k Description"."""
    return cell_len(item.key_display) + (1 + cell_len(item.description) if item.description else 0)
