"""Processing scripts with Atlas's contract, and their cached virtual environments."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace

ATLAS_SCRIPT = """
import json, os, sys
task = json.loads(os.environ["TASK"])
connection = json.loads(os.environ["CONNECTION"])
out = os.path.join(task["output_dir"], "upper.csv")
with open(sys.argv[1], encoding="utf-8") as source, open(out, "w", encoding="utf-8") as target:
    target.write(source.read().upper())
with open("meta.json", "w") as meta:
    json.dump({"argv": sys.argv[1:], "key": task["key"], "run_id": task["run_id"],
               "region": os.environ["region"], "connection_type": connection["type"],
               "params": task["params"]}, meta)
print("processing", len(sys.argv) - 1, "file(s)")
print([out, "meta.json"])
"""


def processing_task(ws: StepWorkspace, name: str, script: str, extra: str = "") -> str:
    ws.empty_database("db")
    path = ws.root / "tasks" / "p" / "scripts" / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n'
        "query = \"SELECT 'zoë' AS name, :region AS region\"\n"
        '[params]\nregion = "north"\n'
        f'[processing]\nscript = "scripts/{name}.py"\n{extra}',
    )


def test_atlas_contract_argv_env_and_listed_files(sws: StepWorkspace) -> None:
    key = processing_task(
        sws,
        "atlas",
        ATLAS_SCRIPT,
        '[output]\nname = "src.csv"\nzip = true\nzip_name = "bundle.zip"\n'
        '[[deliver]]\nkind = "local"\npath = "out"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    folder = sws.run_dir(run.id)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta == {
        "argv": [str(folder / "src.csv")],
        "key": "p/atlas",
        "run_id": run.id,
        "region": "north",
        "connection_type": "sqlite",
        "params": {"region": "north"},
    }
    assert (folder / "upper.csv").read_text() == "NAME,REGION\nZOË,NORTH\n"
    stages = {Path(r.path).name: r.stage for r in sws.outputs(run.id)}
    assert stages == {
        "src.csv": "source",
        "upper.csv": "processed",
        "meta.json": "processed",
        "upper.csv.md5": "output",
        "meta.json.md5": "output",
        "bundle.zip": "output",
    }
    with zipfile.ZipFile(sws.root / "out" / "bundle.zip") as bundle:
        assert sorted(bundle.namelist()) == [
            "meta.json",
            "meta.json.md5",
            "upper.csv",
            "upper.csv.md5",
        ]
    assert "processing 1 file(s)" in sws.lines(run.id)


def test_a_listed_file_that_does_not_exist_is_an_error(sws: StepWorkspace) -> None:
    key = processing_task(
        sws, "liar", "open('made.csv', 'w').write('x')\nprint(['made.csv', 'ghost.csv'])\n"
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "processing: scripts/liar.py listed ghost.csv, which does not exist" in (run.error or "")
    [source] = sws.outputs(run.id)
    assert source.stage == "source" and Path(source.path).is_file()
    assert "processing: started" in sws.lines(run.id)


def test_last_line_must_be_a_list_and_exit_codes_count(sws: StepWorkspace) -> None:
    run = sws.run(processing_task(sws, "chatty", "print('done!')\n"))
    assert "must be a Python list of file paths like ['/path/to/result.csv']; got 'done!'" in (
        run.error or ""
    )
    run = sws.run(processing_task(sws, "crash", "import sys\nprint('[]')\nraise SystemExit(4)\n"))
    assert "processing: scripts/crash.py failed with exit code 4" in (run.error or "")
    run = sws.run(processing_task(sws, "trace", "raise ValueError('bad input')\n"))
    assert "ValueError: bad input" in sws.lines(run.id, "stderr")


def make_wheel(folder: Path) -> Path:
    """A one-module wheel built by hand (nothing to download, nothing to compile)."""
    wheel = folder / "duftui_probe-1.0-py3-none-any.whl"
    info = "duftui_probe-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("duftui_probe.py", "VALUE = 'probe 1.0'\n")
        archive.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: duftui-probe\nVersion: 1.0\n"
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_requirements_install_into_a_shared_uv_environment(sws: StepWorkspace) -> None:
    scripts = sws.root / "tasks" / "p" / "scripts"
    scripts.mkdir(parents=True)
    wheel = make_wheel(scripts)
    (scripts / "requirements.txt").write_text(f"# local wheel, no index needed\n./{wheel.name}\n")
    script = (
        "import sys, duftui_probe\nopen('probe.txt', 'w').write(duftui_probe.VALUE + "
        "'|' + sys.prefix)\nprint(['probe.txt'])\n"
    )
    key = processing_task(sws, "venv", script, 'requirements = "scripts/requirements.txt"\n')
    first = sws.run(key)
    assert first.status == RunStatus.SUCCEEDED, sws.text(first.id)
    value, prefix = (sws.run_dir(first.id) / "probe.txt").read_text().split("|")
    assert value == "probe 1.0"
    assert Path(prefix).parent == sws.root / ".duftui" / "envs"
    assert any("building environment" in line for line in sws.lines(first.id))
    assert (scripts / "requirements.lock").is_file()
    second = sws.run(key)
    assert second.status == RunStatus.SUCCEEDED
    assert not any("building environment" in line for line in sws.lines(second.id))
    assert any(f"environment {Path(prefix).name}" in line for line in sws.lines(second.id))
    assert (sws.run_dir(second.id) / "probe.txt").read_text() == f"{value}|{prefix}"


def test_python_task_with_pipeline_tables_delivers_what_it_reports(sws: StepWorkspace) -> None:
    key = sws.python_task(
        "report",
        """
        from duftui import task
        path = task.output_dir() / "report ü.txt"
        path.write_text("made by a script\\n", encoding="utf-8")
        task.output(path, "output")
        print("wrote", path.name)
        """,
        extra='[output]\nmd5 = true\n[[deliver]]\nkind = "local"\npath = "out"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert sorted(p.name for p in (sws.root / "out").iterdir()) == [
        "report ü.txt",
        "report ü.txt.md5",
    ]
    assert "wrote report ü.txt" in sws.lines(run.id)
