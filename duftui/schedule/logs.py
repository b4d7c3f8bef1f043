"""Daemon log lines: plain text on stderr, one event per line, level first, no colours.

Under systemd (JOURNAL_STREAM is set) each line starts with a syslog priority like `<4>`,
which journald turns into the entry's priority, and carries no timestamp (journald adds
one). Elsewhere (a terminal, `.duftui/daemon.log`) lines start with the local time.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from typing import TextIO

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class DaemonFormatter(logging.Formatter):
    def __init__(self, journald: bool) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if self.journald:
            prefix = f"<{_PRIORITY.get(record.levelno, 6)}>{record.levelname} "
            return "\n".join(prefix + line for line in message.splitlines() or [""])
        stamp = (
            datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        )
        return f"{stamp} {record.levelname} {message}"


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send every `duftui.*` logger to stderr in the daemon's format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(DaemonFormatter(bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger("duftui")
    root.handlers = [handler]
    root.setLevel(level.upper())
    root.propagate = False
