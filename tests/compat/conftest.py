"""Fixtures for DUFT compatibility and notebook tests (the notebook tests import them).

Notebooks are written with nbformat, so every test states its cells as plain source
strings; kernels are real ipykernel processes.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.engine.conftest import Workspace

KERNEL_PID = re.compile(r"kernel \S+ \(pid (\d+)\) ready")


def open_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """The engine tests' Workspace, for fixtures here and in tests/steps/test_notebook*.py."""
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    yield from open_workspace(tmp_path)


def notebook(
    path: Path,
    *cells: str | tuple[str, list[str]],
    markdown_first: bool = False,
    kernel: str | None = "python3",
) -> Path:
    """Write a notebook of code cells; a (source, tags) pair makes a tagged cell."""
    built = []
    if markdown_first:
        built.append(new_markdown_cell("# A notebook"))
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        built.append(
            new_code_cell(
                textwrap.dedent(source).strip("\n"), metadata={"tags": tags} if tags else {}
            )
        )
    nb = new_notebook(cells=built)
    if kernel:
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": ".venv", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def notebook_task(
    ws: Workspace,
    name: str,
    *cells: str | tuple[str, list[str]],
    extra: str = "",
    run_extra: str = "",
    **kwargs,
) -> str:
    """A `kind = "notebook"` task in project p with its notebook under scripts/."""
    notebook(ws.root / "tasks" / "p" / "scripts" / f"{name}.ipynb", *cells, **kwargs)
    return ws.task(
        name,
        f'name = "{name}"\n{textwrap.dedent(extra)}\n[run]\n'
        f'kind = "notebook"\nfile = "scripts/{name}.ipynb"\n'
        f"{textwrap.dedent(run_extra)}\n",
    )


def kernel_pid(lines: list[str]) -> int | None:
    for line in lines:
        found = KERNEL_PID.search(line)
        if found:
            return int(found.group(1))
    return None


SAMPLE_TASK = """
import sys
import time

from services.dte_tools.data_task_tools import (  # noqa: E402
    DataTaskEnvironment,
    assert_dte_tools_available,
    find_json_arg,
    get_resolved_parameters_for_connection,
    initialise_data_task,
)
from data_task_helpers import shout

params = {}
environment: DataTaskEnvironment = None

if __name__ == "__main__":
    json_args = find_json_arg(sys.argv)
    environment = initialise_data_task("Sample Data Task", params=json_args)
    params["name"] = json_args.get("name", "No parameters given!")
    params["simulate_error"] = json_args.get("simulate_error", False)


def sample_task():
    resolved_parameters = get_resolved_parameters_for_connection("ANA")
    environment.log_message(shout("Script starting!"))
    environment.log_message("Using Data Connection Parameters: %s" % resolved_parameters)
    environment.log_message("Progress for %s: 1/1" % params["name"])
    if params["simulate_error"]:
        environment.log_error("A simulated error occurred!")
        sys.exit(1)
    environment.log_message("Script completed! %s" % environment.current_data_task_name)


assert_dte_tools_available()
sample_task()
"""

DATA_TASKS = {
    "dataTasks": [
        {
            "id": "SAMPLE",
            "name": "Sample Data Task",
            "description": "A sample data task",
            "pythonFile": "sample_task.py",
            "hideInUI": True,
            "dataConnections": ["ANA"],
            "supportedParameters": {
                "name": {
                    "title": "Name",
                    "description": "The name you want to be displayed.",
                    "defaultValue": "Daenerys",
                    "allowOverride": True,
                    "promptUser": False,
                },
                "simulate_error": {
                    "title": "Simulate Error",
                    "defaultValue": False,
                    "allowOverride": True,
                    "promptUser": True,
                },
            },
        },
        {
            "id": "SAMPLE-NOTEBOOK",
            "name": "Sample Notebook Task",
            "pythonFile": "sample_notebook.ipynb",
            "executeFromRoot": False,
            "dataConnections": ["ANA", "MyOwnConnection"],
            "supportedParameters": {
                "name": {
                    "title": "Name",
                    "defaultValue": "Cersei",
                    "allowOverride": True,
                    "promptUser": False,
                }
            },
        },
        {
            "id": "ROOT-SAMPLE",
            "name": "From the root",
            "pythonFile": "sample_task.py",
            "executeFromRoot": True,
            "dataConnections": ["ANA"],
            "retries": 3,
        },
        {
            "id": "NON-EXISTING",
            "name": "(Unit Test Non Existing)",
            "pythonFile": "does_not_exist.ipynb",
        },
    ]
}

DATA_CONNECTIONS = {
    "dataConnections": [
        {
            "id": "ANA",
            "name": "Analysis Database",
            "description": "Where analysis data lives",
            "allowQueryEngine": "True",
            "params": [
                {"name": "server", "type": "text", "label": "Server name"},
                {"name": "username", "type": "text", "label": "User name"},
                {"name": "password", "type": "password", "label": "Password"},
                {"name": "port", "type": "integer", "label": "Port"},
            ],
        },
    ]
}

USER_CONFIG = {
    "dataConnectionParameters": {
        "ANA": {
            "server": "127.0.0.1",
            "username": "user",
            "password": "pa55-word-ana",
            "port": 1433,
            "type": "MSSQL",
        },
    },
    "scheduledDataTasks": {
        "SAMPLE": {
            "description": "Every Monday at nine",
            "schedule": {
                "cron": {
                    "second": "0",
                    "minute": "0",
                    "hour": "9",
                    "day_of_month": "*",
                    "month": "*",
                    "day_of_week": "mon",
                }
            },
        },
    },
    "djangoDatabases": {"default": {"ENGINE": "django.db.backends.sqlite3"}},
}


def duft_config(root: Path, layout: str = "duft") -> Path:
    """A DUFT configuration folder as DUFT lays it out (or flat), with real scripts."""
    import json

    system = root / "system" if layout == "duft" else root
    scripts = system / "data_tasks" if layout == "duft" else root
    user = root / "user" if layout == "duft" else root
    for folder in (system, scripts, user):
        folder.mkdir(parents=True, exist_ok=True)
    (system / "data_tasks.json").write_text(json.dumps(DATA_TASKS, indent=2))
    (system / "data_connections.json").write_text(json.dumps(DATA_CONNECTIONS, indent=2))
    (user / "config.json").write_text(json.dumps(USER_CONFIG, indent=2))
    (scripts / "sample_task.py").write_text(SAMPLE_TASK)
    (scripts / "data_task_helpers.py").write_text("def shout(text):\n    return text.upper()\n")
    notebook(
        scripts / "sample_notebook.ipynb",
        "params = {}",
        "from services.dte_tools.data_task_tools import initialise_data_task, "
        "get_resolved_parameters_for_connection",
        'environment = initialise_data_task("Jupyter Sample Data Task", params=params)\n'
        'db = get_resolved_parameters_for_connection("ANA")\n'
        'environment.log_message("Hello %s on %s" % (params["name"], db["server"]))',
    )
    return root
