"""What a notebook's kernel produces: relayed to the run log as it arrives, kept for the
executed notebook, and masked before that notebook is saved.

Stream text is written to the step runner's own stdout or stderr unchanged, chunk by
chunk, so the supervisor stores each line as soon as the kernel sends it. Lines that are
duftui markers (from `duftui.task` or the DUFT shim inside the kernel) must start a line
for the supervisor to read them, so one glued to a partial line is moved to its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from nbformat import NotebookNode
from nbformat.v4 import output_from_msg

from duftui.definitions.masking import Masker
from duftui.task import MARKER

TEXT_LIMIT = 20_000


def readable(text: str) -> str:
    """Stream text for the saved notebook: marker log lines as their message, others gone."""
    if MARKER not in text:
        return text
    # Not str.splitlines(): it also splits at \x1e, the marker's first character.
    *lines, partial = text.split("\n")
    kept = []
    for line in lines:
        if not line.startswith(MARKER):
            kept.append(line + "\n")
            continue
        try:
            data = json.loads(line[len(MARKER) :])
        except ValueError:
            kept.append(line + "\n")
            continue
        if isinstance(data, dict) and data.get("type") == "log":
            kept.append(str(data.get("msg", "")) + "\n")
    kept.append(partial)
    return "".join(kept)


class OutputRelay:
    """Relays one cell's output messages to the log and collects them as cell outputs."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self._streams = {"stdout": stdout or sys.stdout, "stderr": stderr or sys.stderr}
        self._line_start = {"stdout": True, "stderr": True}
        self._cell: NotebookNode | None = None
        self._clear_pending = False

    def begin(self, cell: NotebookNode) -> None:
        self._cell = cell
        cell.outputs = []
        self._clear_pending = False

    def handle(self, msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "clear_output":
            if content.get("wait"):
                self._clear_pending = True
            elif self._cell is not None:
                self._cell.outputs = []
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        if kind == "stream":
            self._write(content.get("name", "stdout"), content.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            self._display(content.get("data", {}))
        self._collect(kind, msg)

    def end(self) -> None:
        """Finish the cell: a partial last line is ended, so the next cell starts afresh."""
        for name, at_start in self._line_start.items():
            if not at_start:
                self._emit(name, "\n")
        self._cell = None

    def _write(self, name: str, text: str) -> None:
        if name not in self._streams:
            name = "stdout"
        if MARKER in text:
            text = text.replace(MARKER, "\n" + MARKER).replace("\n\n" + MARKER, "\n" + MARKER)
            if text.startswith("\n" + MARKER) and self._line_start[name]:
                text = text[1:]
        self._emit(name, text)

    def _display(self, data: dict[str, Any]) -> None:
        plain = data.get("text/plain")
        if isinstance(plain, list):
            plain = "".join(plain)
        if plain is None:
            kinds = ", ".join(sorted(data)) or "nothing"
            plain = f"[display: {kinds}]"
        if len(plain) > TEXT_LIMIT:
            plain = plain[:TEXT_LIMIT] + " …[cut]"
        if not self._line_start["stdout"]:
            plain = "\n" + plain
        self._emit("stdout", plain if plain.endswith("\n") else plain + "\n")

    def _emit(self, name: str, text: str) -> None:
        if not text:
            return
        stream = self._streams[name]
        stream.write(text)
        stream.flush()
        self._line_start[name] = text.endswith("\n")

    def _collect(self, kind: str, msg: dict[str, Any]) -> None:
        cell = self._cell
        if cell is None:
            return
        if self._clear_pending:
            cell.outputs = []
            self._clear_pending = False
        if kind == "stream":
            text = readable(msg["content"].get("text", ""))
            name = msg["content"].get("name", "stdout")
            last = cell.outputs[-1] if cell.outputs else None
            if (
                last is not None
                and last.get("output_type") == "stream"
                and last.get("name") == name
            ):
                last["text"] += text
                return
            if not text:
                return
        try:
            output = output_from_msg(msg)
        except ValueError:
            return
        if kind == "stream":
            output["text"] = readable(output.get("text", ""))
        cell.outputs.append(output)


def mask_notebook(notebook: NotebookNode, masker: Masker) -> None:
    """Hide secret values in the saved copy: sources (injected parameters) and outputs."""
    if not masker:
        return
    for cell in notebook.cells:
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        cell["source"] = masker.mask(str(source))
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = masker.mask(_joined(output["text"]))
            if "evalue" in output:
                output["evalue"] = masker.mask(str(output["evalue"]))
            if "traceback" in output:
                output["traceback"] = [masker.mask(str(line)) for line in output["traceback"]]
            data = output.get("data", {})
            for mime, value in list(data.items()):
                if mime.startswith("text/") or mime.endswith("+json") or mime == "application/json":
                    data[mime] = masker.mask_value(
                        _joined(value) if isinstance(value, list) else value
                    )


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def mask_file(path: Path, masker: Masker) -> None:
    """Mask a text file of the run's folder in place (kept when it holds no secret)."""
    if not masker or not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    masked = masker.mask(text)
    if masked != text:
        path.write_text(masked, encoding="utf-8")
