"""A run's process is known by pid and start time; the start time recorded at spawn must
match what is read back from the system later, or recovery would kill the wrong group."""

from __future__ import annotations

import subprocess
import sys

from duftui.engine.identity import process_alive, start_time, start_time_now


def test_start_time_taken_at_spawn_matches_the_process_start_time() -> None:
    before = start_time_now()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        read_back = start_time(proc.pid)
        assert read_back is not None
        assert abs(read_back - before) < 0.5
        assert process_alive(proc.pid, before)
        assert not process_alive(proc.pid, before - 60)  # a pid reused by another start
    finally:
        proc.kill()
        proc.wait()
    assert not process_alive(proc.pid, before)
