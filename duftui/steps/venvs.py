"""Per-task virtual environments for processing scripts, cached by requirements hash.

`.duftui/venvs/<hash>/` is created on first use (under a file lock, so two runs never
build the same one at once) and reused while the requirements file and the Python version
stay the same. A half-built environment (no ready marker) is rebuilt. Requirements are
installed with the running interpreter's pip (`pip --python VENV`), so the new
environment needs no pip of its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from duftui import locations
from duftui.steps.child import run_child
from duftui.steps.errors import StepError
from duftui.steps.report import Reporter

READY = ".duftui-ready"


def venv_key(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{sys.version}|{sys.executable}".encode())
    return digest.hexdigest()[:16]


def has_requirements(requirements: Path) -> bool:
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.strip().startswith("#"):
            return True
    return False


def ensure_venv(requirements: Path, workspace: Path, reporter: Reporter) -> Path:
    """The Python executable of the environment for these requirements."""
    try:
        key = venv_key(requirements)
    except OSError as exc:
        raise StepError(f"processing: cannot read {requirements}: {exc.strerror}") from None
    root = locations.state_dir(workspace) / "venvs"
    target = root / key
    python = target / "bin" / "python"
    if (target / READY).exists():
        reporter.info(
            f"processing: reusing virtual environment {target.name} (requirements unchanged)"
        )
        return python
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / READY).exists():
            reporter.info(f"processing: reusing virtual environment {target.name}")
            return python
        shutil.rmtree(target, ignore_errors=True)
        reporter.info(
            f"processing: creating virtual environment {target.name} for {requirements.name}"
        )
        own_pip = importlib.util.find_spec("pip") is None
        argv = [sys.executable, "-m", "venv", *([] if own_pip else ["--without-pip"]), str(target)]
        made = subprocess.run(argv, capture_output=True, text=True)
        if made.returncode != 0:
            raise StepError(
                f"processing: cannot create a virtual environment: {made.stderr.strip()[-500:]}"
            )
        if has_requirements(requirements):
            _install(requirements, python, reporter, own_pip)
        (target / READY).write_text(requirements.name + "\n", encoding="utf-8")
    return python


def _install(requirements: Path, python: Path, reporter: Reporter, own_pip: bool) -> None:
    pip = (
        [str(python), "-m", "pip"]
        if own_pip
        else [sys.executable, "-m", "pip", "--python", str(python)]
    )
    argv = [*pip, "install", "--disable-pip-version-check", "--no-input", "-r", str(requirements)]
    env = dict(os.environ)
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    result = run_child(argv, requirements.parent, env, reporter, None, "processing")
    if result.returncode != 0:
        raise StepError(
            f"processing: installing {requirements.name} failed (pip exit code "
            f"{result.returncode}); see pip's output above"
        )
