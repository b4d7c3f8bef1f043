"""`python -m duftui.steps --run ID`: the process that runs pipeline and notebook tasks.

The supervisor starts this like any task process, so pipelines and notebooks get the same
streaming, cancel, timeout and resource accounting as scripts. It reads the run's context
from the environment the supervisor set (DESIGN §5.2) and the workspace definitions, and
reports outputs and progress through the same stdout marker protocol as task code.
"""

from __future__ import annotations

import sys

from duftui.steps.context import StepContext


def main(argv: list[str] | None = None) -> int:
    ctx = StepContext.from_environment(argv if argv is not None else sys.argv[1:])
    kind = ctx.spec.run.kind
    if kind == "notebook":
        from duftui.steps.notebook import run_notebook

        return run_notebook(ctx)
    from duftui.steps.pipeline import run_pipeline

    return run_pipeline(ctx)


if __name__ == "__main__":
    sys.exit(main())
