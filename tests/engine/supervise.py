"""`python -m tests.engine.supervise WORKSPACE` runs a real supervisor in its own process."""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    store = Store(args.workspace / ".duftui" / "state.db")
    supervisor = Supervisor(store, load_workspace(args.workspace), SecretStore(secrets_file()),
                            max_parallel=args.max_parallel, poll_interval=0.02)
    print("supervising", flush=True)
    anyio.run(supervisor.run, args.until_idle)


if __name__ == "__main__":
    main()
