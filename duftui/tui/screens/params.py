"""`R`: asks for the parameters marked `prompt` or `allow_override` before a manual run."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from duftui.engine.params import ParamError, declared_params
from duftui.engine.preview import preview_task
from duftui.engine.submit import SubmitError
from duftui.tui.format import escape
from duftui.tui.session import Session


class ParamsScreen(ModalScreen[dict[str, Any] | None]):
    """Returns the overrides to run with (only values that differ), or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="params-close")]

    def __init__(self, session: Session, key: str) -> None:
        super().__init__()
        self.session = session
        self.key = key
        self.current: dict[str, Any] = {}
        self.editable: list[str] = []
        self.shown: list[tuple[str, str, str, bool]] = []
        self.problem = ""
        self._prepare()

    def _prepare(self) -> None:
        catalogue = self.session.catalogue()
        try:
            entry = catalogue.task(self.key)
            preview = preview_task(
                catalogue, self.key, at=self.session.now(), secrets=self.session.ctx.secrets()
            )
        except (KeyError, SubmitError, ParamError) as exc:
            self.problem = str(exc.args[0] if isinstance(exc, KeyError) else exc)
            return
        values = {name: item["value"] for name, item in preview["params"].items()}
        for name, (param, _origin) in declared_params(catalogue, entry).items():
            if param.secret or not (param.prompt or param.allow_override):
                continue
            self.current[name] = values.get(name, "")
            label = param.title or name
            if param.description:
                label += f" — {param.description}"
            self.shown.append((name, label, str(values.get(name, "")), param.allow_override))
            if param.allow_override:
                self.editable.append(name)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(f"Run {self.key} with parameters", classes="dialog-title")
            if self.problem:
                yield Label(escape(self.problem), classes="dialog-error")
            elif not self.shown:
                yield Label("This task has no parameters you can change.", classes="dialog-note")
            with VerticalScroll(classes="dialog-fields"):
                for name, label, value, editable in self.shown:
                    yield Label(f"[b]{escape(name)}[/b]  {escape(label)}")
                    yield Input(
                        value,
                        id=f"param-{name}",
                        disabled=not editable,
                        tooltip=None if editable else "fixed: allow_override is false",
                    )
            yield Label("", id="params-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run", variant="primary", id="run", disabled=bool(self.problem))
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        inputs = [i for i in self.query(Input) if not i.disabled]
        if inputs:
            inputs[0].focus()
        else:
            self.query_one("#run", Button).focus()

    def overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.editable:
            value = self.query_one(f"#param-{name}", Input).value
            if value != str(self.current.get(name, "")):
                out[name] = value
        return out

    @on(Input.Submitted)
    @on(Button.Pressed, "#run")
    def run(self) -> None:
        if self.problem:
            return
        overrides = self.overrides()
        try:
            preview_task(
                self.session.catalogue(),
                self.key,
                overrides=overrides,
                at=self.session.now(),
                secrets=self.session.ctx.secrets(),
            )
        except (SubmitError, ParamError) as exc:
            self.query_one("#params-error", Label).update(escape(str(exc)))
            return
        self.dismiss(overrides)

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.dismiss(None)
