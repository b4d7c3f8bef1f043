"""Log flood: a task printing 1,000,000 lines through duftui, every line stored, against the
same script with stdout redirected to a file, measured in the same run (goal: ≤ 1.5×).

`--secrets 2` (or DUFTUI_BENCH_SECRETS=2) gives the task that many secret parameters, so
every block of lines goes through the masker's scan for all their encoded forms."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_support import make_workspace

FLOOD = """
import sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else {n}
write = sys.stdout.write
for i in range(n):
    write(f"line {{i}} of the flood: some ordinary log text, nothing special\\n")
"""


def baseline(script: Path, out: Path) -> float:
    start = time.perf_counter()
    with open(out, "w") as handle:
        subprocess.run([sys.executable, str(script)], stdout=handle, check=True)
    return time.perf_counter() - start


def through_duftui(root: Path, n: int) -> tuple[float, int, int]:
    import anyio
    from sqlalchemy import text

    from duftui.definitions.loader import load_workspace
    from duftui.definitions.secrets import SecretStore
    from duftui.engine.submit import submit_task
    from duftui.engine.supervisor import Supervisor
    from duftui.store.db import Store

    store = Store(root / ".duftui" / "state.db")
    catalogue = load_workspace(root)
    submitted = submit_task(store, catalogue, "b/flood")
    supervisor = Supervisor(store, catalogue, SecretStore(root / "secrets.toml"),
                            batch_id=submitted.batch_id, poll_interval=0.25)
    start, cpu = time.perf_counter(), time.process_time()
    anyio.run(supervisor.run, True)
    elapsed = time.perf_counter() - start
    print(f"supervisor CPU (reading, masking, storing): {time.process_time() - cpu:6.2f} s")
    with store.read() as conn:
        lines = conn.execute(text("SELECT coalesce(sum(line_count), 0), count(*) FROM log_chunk "
                                  "WHERE run_id = :r"), {"r": submitted.run_ids[0]}).first()
        status = conn.execute(text("SELECT status FROM run WHERE id = :r"),
                              {"r": submitted.run_ids[0]}).scalar()
    assert status == "succeeded", status
    store.close()
    return elapsed, int(lines[0]), int(lines[1])


SECRETS = ('pa"ss\\wo/rd+&Ü-42', "tok-3f9a8b7c6d5e4f")
"""Two secrets, one with the characters that change its encoded forms."""


def add_secrets(root: Path, count: int) -> None:
    """Give the flood task `count` secret parameters read from the environment."""
    task = root / "tasks" / "b" / "flood.toml"
    text = task.read_text()
    for index in range(count):
        variable = f"DUFTUI_BENCH_SECRET_{index}"
        os.environ[variable] = SECRETS[index % len(SECRETS)] + ("" if index < 2 else str(index))
        text += f'[params.secret{index}]\ndefault = {{ env = "{variable}" }}\nsecret = true\n'
    task.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--secrets", type=int,
                        default=int(os.environ.get("DUFTUI_BENCH_SECRETS", "0")),
                        help="secret parameters the task gets (masked in every line)")
    args = parser.parse_args()
    root = make_workspace({"flood": FLOOD.format(n=args.n)})
    add_secrets(root, args.secrets)
    os.environ["DUFTUI_SECRETS"] = str(root / "secrets.toml")
    script = root / "tasks" / "b" / "scripts" / "flood.py"
    base = min(baseline(script, root / "flood.out") for _ in range(2))
    ours, stored, rows = through_duftui(root, args.n)
    # +2: the supervisor's own "starting" and "finished" event lines.
    assert stored == args.n + 2, f"stored {stored} lines, expected {args.n + 2}"
    print(f"script > file          {args.n:>9,} lines: {base:6.2f} s")
    print(f"through duftui, stored {stored:>9,} lines in {rows:,} rows: {ours:6.2f} s")
    print(f"log flood ratio: {ours / base:.2f}x  (goal <= 1.5x), "
          f"{args.secrets} secret(s) masked")


if __name__ == "__main__":
    main()
