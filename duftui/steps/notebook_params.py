"""Putting a run's parameters into a notebook, both ways people write notebooks for it.

- DUFT: the first code cell is `params = {}`; DUFT replaces it with the run's parameters
  as a dict literal, and the notebook reads `params["name"]`.
- papermill: a cell tagged `parameters` holds defaults; an `injected-parameters` cell
  right after it assigns the run's values, one variable per parameter.

The values arrive as JSON (DUFTUI_PARAMS), so `repr` of them is a valid Python literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

_EMPTY_PARAMS = re.compile(r"\A\s*params\s*=\s*(\{\s*\}|dict\(\s*\))\s*;?\s*\Z")
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


@dataclass
class Injection:
    """What was injected where; `origin[i]` is the original 1-based number of cell i."""

    duft_cell: int | None = None
    papermill_cell: int | None = None
    origin: list[int | None] = field(default_factory=list)

    @property
    def injected(self) -> bool:
        return self.duft_cell is not None or self.papermill_cell is not None


def _source(cell: NotebookNode) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def duft_params_source(params: dict[str, Any]) -> str:
    return f"params = {params!r}"


def papermill_source(params: dict[str, Any]) -> str:
    lines = ["# Parameters (injected by duftui)"]
    lines.extend(f"{name} = {value!r}" for name, value in params.items())
    return "\n".join(lines) + "\n"


def inject_parameters(notebook: NotebookNode, params: dict[str, Any]) -> Injection:
    """Inject `params` into `notebook` in place; returns where, for messages and numbering."""
    injection = Injection(origin=list(range(1, len(notebook.cells) + 1)))
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    if code_cells and _EMPTY_PARAMS.match(_source(notebook.cells[code_cells[0]])):
        index = code_cells[0]
        notebook.cells[index].source = duft_params_source(params)
        injection.duft_cell = index + 1
    tagged = next(
        (
            i
            for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and PARAMETERS_TAG in _tags(cell)
        ),
        None,
    )
    if tagged is not None:
        existing = tagged + 1
        if existing < len(notebook.cells) and INJECTED_TAG in _tags(notebook.cells[existing]):
            del notebook.cells[existing]
            del injection.origin[existing]
        cell = new_code_cell(papermill_source(params), metadata={"tags": [INJECTED_TAG]})
        if notebook.get("nbformat_minor", 5) < 5:
            cell.pop("id", None)  # cell ids arrived with nbformat 4.5
        notebook.cells.insert(tagged + 1, cell)
        injection.origin.insert(tagged + 1, None)
        injection.papermill_cell = tagged + 1
    return injection
