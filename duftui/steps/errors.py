"""Errors a pipeline step raises: the message is what the operator reads in the log and in
the run's error summary, so it names the step, the target and what to do about it."""

from __future__ import annotations


class StepError(Exception):
    """A step failed; `str(error)` is the complete, user-facing explanation."""


class TransferError(StepError):
    """A remote operation failed. `transient` errors (connection refused, timeouts,
    temporary server replies) are worth retrying; the others (login refused, host key
    mismatch, target exists, disk full) fail at once, since a retry cannot fix them."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Terminated(StepError):
    """The supervisor sent SIGTERM (cancel or timeout): stop, notify, exit."""


def internal_error(exc: BaseException, where: str) -> str:
    """One sentence for an unexpected error in the step runner (a bug in duftui): what
    failed and where, and that the traceback is in the run's log at DEBUG level."""
    detail = (str(exc).splitlines() or [""])[0][:200]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return (
        f"{where}: the step runner failed unexpectedly ({what}); this is a bug in duftui, "
        "please report it with the traceback, which is in the run's log at DEBUG level "
        "(`duftui logs RUN --level debug`)"
    )


def os_error_text(exc: OSError) -> str:
    """`[Errno 28] No space left on device: 'x'` → `no space left on device`."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


class RunMissing(StepError):
    """No run with that id (the command line exits 4 for it)."""
