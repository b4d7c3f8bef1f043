"""`python -m duftui.envs SPEC -- SCRIPT ARGS…`: build a run's environment, then become
the task.

The supervisor starts a run this way only when its environment is not built yet, so the
build's lines (and a failure, with uv's message) land in the run's log, and the run's
process is the task's own afterwards (`os.execve` keeps the pid the supervisor watches).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from duftui import task
from duftui.envs.build import EnvError, ensure
from duftui.envs.request import EnvRequest

EXIT_SETUP = 2


def decode(spec: str) -> tuple[EnvRequest, dict]:
    data = json.loads(spec)
    request = EnvRequest(tuple(data["requirements"]), data["python"], data["source"],
                         Path(data["lock_path"]), Path(data["base"]), tuple(data["extras"]))
    return request, data


def encode(request: EnvRequest, workspace: Path, task_key: str, pythonpath: str,
           python_argv: bool) -> str:
    return json.dumps({"python_argv": python_argv, "requirements": list(request.requirements), "python": request.python,
                       "source": request.source, "lock_path": str(request.lock_path),
                       "base": str(request.base), "extras": list(request.extras),
                       "workspace": str(workspace), "task": task_key,
                       "pythonpath": pythonpath})


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "--":
        print("usage: python -m duftui.envs SPEC -- SCRIPT [ARGS…]", file=sys.stderr)
        return EXIT_SETUP
    request, data = decode(argv[0])
    try:
        found = ensure(request, Path(data["workspace"]), data["task"], task.log)
    except EnvError as exc:
        task.error(str(exc))
        return EXIT_SETUP
    task.log(found.describe())
    env = dict(os.environ)
    env["PYTHONPATH"] = data["pythonpath"]
    env["VIRTUAL_ENV"] = str(found.path)
    env["PATH"] = os.pathsep.join(p for p in (str(found.path) + "/bin", env.get("PATH", "")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    final = [str(found.python), "-u", *argv[2:]] if data["python_argv"] else argv[2:]
    try:
        os.execvpe(final[0], final, env)
    except OSError as exc:
        task.error(f"cannot start {final[0]}: {exc.strerror}")
    return EXIT_SETUP


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
