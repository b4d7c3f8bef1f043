"""Pipeline tasks: [source] → [processing] → [output] → [[deliver]] → [notify] (DESIGN §7)."""

from __future__ import annotations

import sys

from duftui.steps.context import StepContext


def run_pipeline(ctx: StepContext) -> int:
    print(f"run.kind {ctx.spec.run.kind!r} with pipeline steps is not available in this "
          "version of duftui", file=sys.stderr)
    return 2
