"""Notebook tasks (kind = "notebook") on a Jupyter kernel."""

from __future__ import annotations

import sys

from duftui.steps.context import StepContext


def run_notebook(ctx: StepContext) -> int:
    print("notebook tasks are not available in this version of duftui", file=sys.stderr)
    return 2
