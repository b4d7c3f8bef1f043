"""The name rules every transport shares, and the write helper that never follows links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from duftui.steps.safe_names import (
    UnsafeName,
    check_name,
    climb_problem,
    join_inside,
    name_problem,
    remote_inside,
)
from duftui.steps.safe_write import publish, write_safely


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("report.csv", None),
        ("zürich ü.csv", None),
        (".hidden", None),
        ("...", None),
        ("", "it is empty"),
        (".", ". is a folder reference, not a file"),
        ("..", ".. is a folder reference, not a file"),
        ("../x", "it holds a path separator (/ or \\)"),
        ("/etc/passwd", "it holds a path separator (/ or \\)"),
        ("a\\b", "it holds a path separator (/ or \\)"),
        ("a\x00b", "it holds a NUL character"),
        ("a\nb", "it holds a control character"),
        ("a\x7fb", "it holds a control character"),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    assert name_problem(name) == problem


def test_check_name_says_what_and_why() -> None:
    with pytest.raises(UnsafeName) as caught:
        check_name("../x", "file name")
    assert str(caught.value) == (
        "file name '../x' is refused: it holds a path separator (/ or \\) (a file name "
        "must be one plain name: not empty, not . or .., without / or \\)"
    )


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("out.csv", None),
        ("a/b/../c.csv", None),
        ("./x", None),
        ("a/..", None),
        ("..", "its .. climbs above the folder"),
        ("a/../../b", "its .. climbs above the folder"),
        ("a\\..\\..\\b", "its .. climbs above the folder"),
        ("/abs", "it is an absolute path"),
        ("\\\\server\\share", "it is an absolute path"),
        ("~/x", "it starts with ~ (a home folder)"),
        ("C:/x", "it starts with a drive letter"),
        ("a\x00b", "it holds a NUL character"),
    ],
)
def test_climb_problem(path: str, problem: str | None) -> None:
    assert climb_problem(path) == problem


def test_remote_inside() -> None:
    assert remote_inside(None, "/incoming") is None
    assert remote_inside(None, "../x") == "its .. climbs above the folder"
    assert remote_inside("/data", "in/x") is None
    assert remote_inside("/data", "/data/in") is None
    assert remote_inside("/data", "/database") == "it is an absolute path elsewhere on the server"
    assert remote_inside("/data", "../etc") == "its .. climbs above the folder"
    assert remote_inside("/", "/anything") is None


def test_join_inside(tmp_path: Path) -> None:
    assert join_inside(tmp_path, "a/b.csv", "name") == tmp_path / "a" / "b.csv"
    for rel in ("../x", "a/../../x", "/x", "a//b", "a\\b"):
        with pytest.raises(UnsafeName):
            join_inside(tmp_path, rel, "name")


def test_write_safely_removes_its_temporary_file_on_error(tmp_path: Path) -> None:
    final = tmp_path / "x.csv"
    with pytest.raises(RuntimeError), write_safely(final) as (handle, _):
        handle.write(b"half")
        raise RuntimeError("stop")
    assert [p for p in tmp_path.iterdir() if p.name != "_config"] == []


def test_publish_without_overwrite_refuses_a_dangling_link(tmp_path: Path) -> None:
    final = tmp_path / "x.csv"
    final.symlink_to(tmp_path / "nowhere")
    temp = tmp_path / ".x.part"
    temp.write_text("new")
    with pytest.raises(FileExistsError):
        publish(temp, final, overwrite=False)
    assert final.is_symlink() and not (tmp_path / "nowhere").exists()
    assert publish(temp, final, overwrite=True) is True
    assert not final.is_symlink() and final.read_text() == "new"
    assert sorted(set(os.listdir(tmp_path)) - {"_config"}) == ["x.csv"]
