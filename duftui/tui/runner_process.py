"""`python -m duftui.tui.runner_process`: the console's own supervisor, in a child process.

The console starts it when there is work to run and no daemon holds the lease. A separate
process keeps a task that floods its log from competing with the console for the GIL and
its event loop, and lets runs finish if the console goes away (an SSH connection drops):

- SIGUSR1: look for work now (the console just queued a run).
- SIGHUP: reload the definitions.
- SIGTERM / SIGINT: start nothing new; exit once the running runs have ended.
- The console gone (the parent pid changes): the same as SIGTERM.

The console starts it with `--nice`: on a busy machine the person at the keyboard comes
before the work it started (on an idle one, nice changes nothing).

It prints `ready IDENTITY` once it runs; IDENTITY is what its runs record as supervisor.
No Textual here: this is a plain client of the engine.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import anyio
from anyio.abc import TaskStatus

from duftui.context import Context
from duftui.engine.supervisor import Supervisor

PARENT_CHECK_S = 1.0


async def _signals(
    supervisor: Supervisor,
    ctx: Context,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    wanted = (signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
    with anyio.open_signal_receiver(*wanted) as received:
        task_status.started()
        async for signum in received:
            if signum == signal.SIGUSR1:
                supervisor.kick()
            elif signum == signal.SIGHUP:
                supervisor.catalogue = await anyio.to_thread.run_sync(
                    lambda: ctx.catalogue(reload=True)
                )
                supervisor.kick()
            else:
                supervisor.stop()


async def _watch_parent(supervisor: Supervisor, parent: int) -> None:
    while True:
        await anyio.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            supervisor.stop()
            return


async def _serve(supervisor: Supervisor, ctx: Context, parent: int) -> None:
    async with anyio.create_task_group() as group:
        await group.start(_signals, supervisor, ctx)
        print(f"ready {supervisor.identity}", flush=True)  # signals are handled from now on
        group.start_soon(_watch_parent, supervisor, parent)
        await supervisor.run()
        group.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--db")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--max-parallel", type=int)
    parser.add_argument(
        "--nice", type=int, default=0, help="lower its CPU priority (and its tasks') by this much"
    )
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    for early in (signal.SIGUSR1, signal.SIGHUP):
        signal.signal(early, signal.SIG_IGN)  # a kick before start-up must not kill it
    ctx = Context.create(args.workspace, args.db)
    try:
        supervisor = Supervisor(
            ctx.store(),
            ctx.catalogue(),
            ctx.secrets(),
            max_parallel=args.max_parallel,
            poll_interval=args.poll,
        )
        anyio.run(_serve, supervisor, ctx, args.parent)
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
