"""`python -m duftui.steps --run ID`: the process that runs pipeline and notebook tasks.

The supervisor starts this like any task process, so pipelines and notebooks get the same
streaming, cancel, timeout and resource accounting as scripts. It reads the run's context
from the environment the supervisor set (DESIGN §5.2) and the workspace definitions, and
reports outputs and progress through the same stdout marker protocol as task code.

Whatever goes wrong ends in one sentence at ERROR level (the run's error summary is made
of those lines and of stderr); tracebacks, library log records and warnings go to the
run's log at DEBUG level, never to stderr.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback

from duftui import task
from duftui.steps.errors import StepError, internal_error


class _RunLogHandler(logging.Handler):
    """Library log records (asyncssh, asyncio, warnings) as DEBUG lines of the run's log:
    on stderr they would become the run's error summary."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            task.log(f"{record.name}: {self.format(record)}", "debug")
        except Exception:  # a log line must never fail the run
            self.handleError(record)


def route_library_logs() -> None:
    handler = _RunLogHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    threading.excepthook = _thread_error


def _thread_error(args: threading.ExceptHookArgs) -> None:
    """An exception in a helper thread: its traceback at DEBUG, not on stderr."""
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    task.log(f"in thread {getattr(args.thread, 'name', '?')}: {text.rstrip()}", "debug")


def main(argv: list[str] | None = None) -> int:
    route_library_logs()
    try:
        from duftui.steps.context import StepContext

        ctx = StepContext.from_environment(argv if argv is not None else sys.argv[1:])
        kind = ctx.spec.run.kind
        if kind == "notebook":
            from duftui.steps.notebook import run_notebook

            return run_notebook(ctx)
        from duftui.steps.pipeline import run_pipeline

        return run_pipeline(ctx)
    except StepError as exc:
        task.error(str(exc))
        return 1
    except Exception as exc:
        task.log(traceback.format_exc().rstrip(), "debug")
        task.error(internal_error(exc, "step runner"))
        return 1


if __name__ == "__main__":
    sys.exit(main())
