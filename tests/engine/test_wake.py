"""A poke on the wake socket starts queued work at once, without waiting for a poll."""

from __future__ import annotations

import time

import anyio

from duftui.engine.supervisor import Supervisor
from duftui.engine.wake import WakeListener, poke
from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace


def test_poke_wakes_a_supervisor_that_polls_rarely(ws: Workspace) -> None:
    key = ws.python_task("quick", "print('hi')")
    catalogue = ws.catalogue()
    assert poke(ws.root) is False  # nobody listens yet
    listener = WakeListener(ws.root)
    supervisor = Supervisor(ws.store, catalogue, ws.secrets(), poll_interval=30.0,
                            wake=listener)
    took: list[float] = []

    async def scenario() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(supervisor.run)
            await anyio.sleep(0.3)
            start = time.monotonic()
            run_id = await anyio.to_thread.run_sync(lambda: ws.submit(key).run_ids[0])
            assert poke(ws.root) is True
            while ws.get(run_id).status != RunStatus.SUCCEEDED:
                await anyio.sleep(0.01)
            took.append(time.monotonic() - start)
            supervisor.stop()

    try:
        anyio.run(scenario)
    finally:
        listener.close()
    assert took[0] < 5.0, "the run waited for the 30 s poll instead of the poke"
    assert not (ws.root / ".duftui" / "wake.sock").exists()


def test_doorbell_keeps_a_ring_that_came_before_the_wait(ws: Workspace) -> None:
    from duftui.engine.wake import Doorbell

    bell = Doorbell()
    try:
        bell.ring()
        start = time.monotonic()
        assert bell.wait(5.0) is True
        assert time.monotonic() - start < 1.0
        assert bell.wait(0.05) is False  # one ring, one wake-up
    finally:
        bell.close()
    bell.ring()  # a closed bell ignores rings


def test_doorbell_wakes_on_a_poke_from_another_process(ws: Workspace) -> None:
    import subprocess
    import sys

    from duftui.engine.wake import Doorbell

    listener = WakeListener(ws.root)
    bell = Doorbell(listener)
    try:
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from duftui.engine.wake import poke; "
                        "sys.exit(0 if poke(Path(sys.argv[1])) else 1)", str(ws.root)],
                       check=True)
        assert bell.wait(5.0) is True
        assert bell.wait(0.05) is False  # the poke was consumed
    finally:
        bell.close()
        listener.close()
