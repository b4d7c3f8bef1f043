"""When the next attempt of a failed run may start: exponential backoff with jitter."""

from __future__ import annotations

import random
from datetime import timedelta

from duftui.definitions.models import Retry


def retry_delay(retry: Retry, attempt: int, rng: random.Random | None = None) -> timedelta:
    """Wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.

    delay * backoff ** (attempt - 1), capped at max_delay; with jitter the wait is drawn
    uniformly from [delay/2, delay] ("equal jitter"), so retries of many runs that failed
    together spread out but never come sooner than half the configured wait.
    """
    base = retry.delay.total_seconds() * (retry.backoff ** max(0, attempt - 1))
    capped = min(base, retry.max_delay.total_seconds())
    if retry.jitter and capped > 0:
        capped = (rng or random).uniform(capped / 2, capped)
    return timedelta(seconds=capped)
