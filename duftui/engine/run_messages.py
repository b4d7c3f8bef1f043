"""The structured messages that change a run's record rather than its log: a result
(`duftui.task.result`) and a permanent failure (`duftui.task.fail(…, retry=False)`).

Both go through the log writer as calls, in order with the run's lines, so they are
stored before the run's finish reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from duftui.definitions.secrets import Masker
from duftui.store.runs import refuse_retry, set_result
from duftui.store.states import Level
from duftui.task import RESULT_MAX_BYTES

Write = Callable[[Connection], Any]


def result_message(
    run_id: int, data: dict[str, Any], masker: Masker | None
) -> tuple[Write | None, str, int]:
    """(the write, the log line, its level) for a `result` message."""
    text = json.dumps(data.get("value"), ensure_ascii=False, default=str)
    if masker:
        text = masker.mask(text)
    if len(text.encode("utf-8")) > RESULT_MAX_BYTES:
        return None, f"result refused: larger than {RESULT_MAX_BYTES} bytes of JSON", Level.ERROR
    shown = text if len(text) <= 200 else text[:200] + " …"
    return (lambda conn: set_result(conn, run_id, text)), f"result: {shown}", Level.INFO


def fail_message(run_id: int, data: dict[str, Any]) -> tuple[Write | None, str, int]:
    """(the write, the log line, its level) for a `fail` message."""
    message = str(data.get("msg") or "the task failed")
    if data.get("retry", True) is False:
        return (
            (lambda conn: refuse_retry(conn, run_id)),
            f"{message} (a permanent error: not retried)",
            Level.ERROR,
        )
    return None, message, Level.ERROR
