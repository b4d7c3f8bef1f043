"""The core never imports Textual: the console is one client among others."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import python_env

CORE = [
    "duftui.definitions",
    "duftui.definitions.loader",
    "duftui.definitions.writer",
    "duftui.store",
    "duftui.store.export",
    "duftui.store.logwriter",
    "duftui.engine",
    "duftui.schedule",
    "duftui.steps",
    "duftui.context",
    "duftui.cli",
]


def test_core_packages_do_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=python_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"core imported Textual: {result.stdout.strip()}"


def test_task_helper_uses_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import duftui.task\n"
        "extra = sorted(m for m in set(sys.modules) - before\n"
        "               if not m.startswith(('duftui', 'encodings')) and m not in sys.stdlib_module_names\n"
        "               and m.split('.')[0] not in sys.stdlib_module_names)\n"
        "print(','.join(extra))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=python_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
