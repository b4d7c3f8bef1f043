"""`python -m tests.engine.supervise WORKSPACE` runs a real supervisor in its own process."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

import anyio

from duftui.definitions.loader import load_workspace
from duftui.definitions.secrets import SecretStore
from duftui.engine.supervisor import Supervisor
from duftui.locations import secrets_file
from duftui.store.db import Store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument("--max-parallel", type=int, default=4)
    parser.add_argument("--writes-fail-for", type=float, default=0.0,
                        help="seconds at first in which no file can grow past 4 KiB (a full "
                        "disk, as SQLite sees it)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    store = Store(args.workspace / ".duftui" / "state.db")
    supervisor = Supervisor(store, load_workspace(args.workspace), SecretStore(secrets_file()),
                            max_parallel=args.max_parallel, poll_interval=0.02)
    if args.writes_fail_for:
        fail_writes_for(args.writes_fail_for)
    print("supervising", flush=True)
    anyio.run(supervisor.run, args.until_idle)


def fail_writes_for(seconds: float) -> None:
    """Lower this process's file-size limit below the state file's size for `seconds`:
    every SQLite write fails for real, then works again, as when disk space is freed."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    timer = threading.Timer(seconds, resource.setrlimit, (resource.RLIMIT_FSIZE, (hard, hard)))
    timer.daemon = True
    timer.start()


if __name__ == "__main__":
    main()
