"""DUFT scripts run unmodified: the shim's three module paths, logging, connections, dirs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from duftui.compat.duft import SHIM_DIR
from duftui.store.states import Level, RunStatus
from tests.conftest import write
from tests.engine.conftest import Workspace

DUFT_SCRIPT = """
    import sys
    import time

    from {module} import (  # noqa: E402
        DataTaskEnvironment,
        assert_dte_tools_available,
        find_json_arg,
        initialise_data_task,
    )

    params = {{}}
    environment: DataTaskEnvironment = None

    if __name__ == "__main__":
        json_args = find_json_arg(sys.argv)
        environment = initialise_data_task("Sample Data Task", params=json_args)
        params["name"] = json_args.get("name", "No parameters given!")

    assert_dte_tools_available()
    environment.log_message("Progress for %s: 1/1" % params["name"])
    environment.log_message("Script completed! %s" % environment.current_data_task_name)
"""


@pytest.mark.parametrize(
    "module",
    [
        "services.dte_tools.data_task_tools",
        "api_data_task_executioner.data_task_tools",
        "src.dte.dte_tools",
    ],
)
def test_duft_script_from_each_module_path(ws: Workspace, module: str) -> None:
    key = ws.python_task(
        "sample", DUFT_SCRIPT.format(module=module), extra='[params.name]\ndefault = "Daenerys"\n'
    )
    run = ws.run(key)
    lines = ws.lines(run.id)
    assert run.status == RunStatus.SUCCEEDED, lines
    assert "Sample Data Task >>>: Sample Data Task initialised" in lines
    assert "DTE Tools available" in lines
    assert "Sample Data Task >>>: Progress for Daenerys: 1/1" in lines
    assert "Sample Data Task >>>: Script completed! Sample Data Task" in lines


def test_the_older_src_dte_api_with_module_level_logging(ws: Workspace) -> None:
    key = ws.python_task(
        "old",
        """
        import json
        import sys
        from src.dte.dte_tools import log_error, log_message, set_data_task_name

        params = json.loads(sys.argv[1])
        set_data_task_name("Old Task")
        log_message("sleep %s" % params["sleep_time"])
        log_error("just checking")
    """,
        extra="[params.sleep_time]\ndefault = 0.2\n",
    )
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    levels = _levels(ws, run.id)
    assert levels["Old Task >>>: sleep 0.2"] == Level.INFO
    assert levels["Old Task >>>: just checking"] == Level.ERROR


def test_log_error_and_exit_1_fail_the_run(ws: Workspace) -> None:
    key = ws.python_task(
        "fails",
        """
        import os
        import sys
        from services.dte_tools.data_task_tools import initialise_data_task

        environment = initialise_data_task("Sample Error Data Task", params={})
        environment.log_error("A simulated error occurred!")
        environment.log_message("Could not complete SAMPLE as it raised an error.")
        try:
            sys.stdout.flush()
            sys.exit(1)
        except SystemExit as e:
            print(f"SystemExit with code: {e.code}")
            os._exit(1)
    """,
    )
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert run.exit_code == 1
    levels = _levels(ws, run.id)
    assert levels["Sample Error Data Task >>>: A simulated error occurred!"] == Level.ERROR
    assert "A simulated error occurred!" in (run.error or "")


def test_script_reads_connection_parameters_with_secrets_resolved(ws: Workspace) -> None:
    write(
        ws.root / "connections.toml",
        textwrap.dedent("""
        [ANA]
        type = "duft"
        name = "Analysis Database"
        duft_id = "ANA"

        [ANA.params]
        server = { type = "text", label = "Server name", value = "127.0.0.1" }
        port = { type = "integer", label = "Port", value = 5432 }
        password = { type = "password", label = "Password", value = { secret = "duft.ANA.password" } }
    """),
    )
    ws.secrets().set("duft.ANA.password", "hunter2-long")
    key = ws.task(
        "conn",
        """
        name = "conn"
        [run]
        kind = "python"
        file = "scripts/conn.py"
        connections = ["ANA"]
    """,
        """
        from services.dte_tools.data_task_tools import (
            get_resolved_parameters_for_connection, initialise_data_task)

        environment = initialise_data_task("Conn", params={})
        db = get_resolved_parameters_for_connection("ANA")
        environment.log_message(f"{db['server']}:{db['port']} ({type(db['port']).__name__})")
        environment.log_message("Using Data Connection Parameters: %s" % db)
        assert get_resolved_parameters_for_connection("ana") == db
        try:
            get_resolved_parameters_for_connection("NDR")
        except KeyError as exc:
            print("missing:", exc)
    """,
    )
    run = ws.run(key)
    lines = ws.lines(run.id)
    assert run.status == RunStatus.SUCCEEDED, lines
    assert "Conn >>>: 127.0.0.1:5432 (int)" in lines
    assert any("'password': '********'" in line for line in lines)
    assert not any("hunter2" in line for line in lines)
    assert any("missing:" in line and "add it to run.connections" in line for line in lines)


def test_data_and_temp_dirs_live_in_the_run_folder(ws: Workspace) -> None:
    key = ws.python_task(
        "dirs",
        """
        import os
        from services.dte_tools.data_task_tools import (
            get_data_dir, get_temp_dir, purge_temp_dir)

        assert get_data_dir() == os.environ["DUFTUI_OUTPUT_DIR"]
        tmp = get_temp_dir()
        open(os.path.join(tmp, "scratch.txt"), "w").write("x")
        os.makedirs(os.path.join(tmp, "sub"))
        purge_temp_dir()
        print("left in tmp:", os.listdir(tmp), os.path.isdir(tmp))
        open(os.path.join(get_data_dir(), "kept.csv"), "w").write("a,b\\n")
    """,
    )
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    assert "left in tmp: [] True" in ws.lines(run.id)
    assert run.output_dir and (Path(run.output_dir) / "kept.csv").exists()


def test_own_src_package_is_not_shadowed_without_duft(ws: Workspace) -> None:
    scripts = ws.root / "tasks" / "p" / "scripts"
    write(scripts / "src" / "__init__.py", "")
    write(scripts / "src" / "helpers.py", "VALUE = 'from my own src'\n")
    key = ws.python_task("own", "from src.helpers import VALUE\nprint(VALUE)\n")
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    assert "from my own src" in ws.lines(run.id)


def test_a_script_edited_to_import_duft_gets_the_shim_on_its_next_run(ws: Workspace) -> None:
    key = ws.python_task("edited", "import sys\nprint('plain', len(sys.argv))\n")
    first = ws.run(key)
    assert first.status == RunStatus.SUCCEEDED, ws.lines(first.id)
    assert "plain 1" in ws.lines(first.id)  # no parameters argument without DUFT
    write(ws.root / "tasks" / "p" / "scripts" / "edited.py", textwrap.dedent("""
        import sys
        from services.dte_tools.data_task_tools import find_json_arg
        print("duft", find_json_arg(sys.argv))
    """))
    second = ws.run(key)
    assert second.status == RunStatus.SUCCEEDED, ws.lines(second.id)
    assert "duft {}" in ws.lines(second.id)


def test_duft_script_still_reaches_its_own_src_modules(ws: Workspace) -> None:
    scripts = ws.root / "tasks" / "p" / "scripts"
    write(scripts / "src" / "helpers.py", "VALUE = 'own helper'\n")
    key = ws.python_task(
        "mixed",
        """
        from src.dte.dte_tools import log_message
        from src.helpers import VALUE
        log_message(VALUE)
    """,
        extra="",
    )
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    assert any(line.endswith(">>>: own helper") for line in ws.lines(run.id))


def test_star_import_adds_only_duft_names() -> None:
    code = (
        "import sys\n"
        "before = set(globals())\n"
        "from services.dte_tools.data_task_tools import *\n"
        "print(sorted(set(globals()) - before - {'before'}))\n"
        "print('duftui' in sys.modules)\n"
    )
    result = _bare(code)
    assert result.stdout.splitlines() == [
        "['DataTaskEnvironment', 'assert_dte_tools_available', 'find_json_arg', 'get_data_dir', "
        "'get_resolved_parameters_for_connection', 'get_temp_dir', 'initialise_data_task', "
        "'purge_temp_dir']",
        "False",
    ]


def test_outside_duftui_the_shim_prints_what_duft_prints() -> None:
    code = (
        "import sys\n"
        "from services.dte_tools.data_task_tools import find_json_arg, initialise_data_task\n"
        "env = initialise_data_task('T', params=find_json_arg(sys.argv))\n"
        "env.log_error('bad %s' % env.params)\n"
        "print(find_json_arg(['x.py', '--flag', '[1]', '{not json']))\n"
    )
    lines = _bare(code, '{"a": 1}').stdout.splitlines()
    assert lines[0].startswith("[") and lines[0].endswith("] T - INFO: T initialised")
    assert lines[1] == "T >>>: T initialised"
    assert lines[2].endswith("] T - ERROR: bad {'a': 1}")
    assert lines[3] == "T >>>: bad {'a': 1}"
    assert lines[4] == "{}"


def _bare(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUFTUI_")}
    env["PYTHONPATH"] = str(SHIM_DIR)
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result


def _levels(ws: Workspace, run_id: int) -> dict[str, int]:
    from duftui.store.logs import read_lines

    with ws.store.read() as conn:
        return {line.text: line.level for line in read_lines(conn, run_id, 1, 100_000)}


def test_the_shim_imports_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import services.dte_tools.data_task_tools, api_data_task_executioner.data_task_tools\n"
        "import src.dte.dte_tools\n"
        "own = ('services', 'api_data_task_executioner', 'src', '_duftui_shim')\n"
        "extra = sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in own\n"
        "               and m.split('.')[0] not in sys.stdlib_module_names)\n"
        "print(','.join(extra))\n"
    )
    assert _bare(code).stdout.strip() == ""
