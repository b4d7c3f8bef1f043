"""Go anywhere (issue 20, build 1): the fuzzy finder over screens, projects, tasks and
runs by id, and fuzzy words in the Tasks filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList

from duftui.tui import fuzzy
from duftui.tui.screens.finder import FinderScreen
from tests.tui.conftest import make_app, table_keys, wait_for, wait_settled
from tests.tui.helpers import go, screen_named
from tests.tui.seed import IDS
from tests.tui.test_snapshots import LARGE, SMALL, shoot

SIZE = (80, 24)


def test_letters_in_order_match_and_the_tightest_ranks_first() -> None:
    texts = fuzzy.lowered(["demo/hello  Hello world", "demo/chatty  Chatty", "dashboard"])
    assert fuzzy.rank("dmhl", ["a", "b", "c"], texts) == ["a"]
    assert fuzzy.rank("hello", ["a", "b", "c"], texts) == ["a"]
    assert fuzzy.rank("d", ["a", "b", "c"], texts)[0] == "c"  # at the start of the text
    assert fuzzy.rank("zzz", ["a", "b", "c"], texts) == []
    assert fuzzy.matches("dmhl", "demo/hello") and not fuzzy.matches("hld", "demo/hello")
    assert fuzzy.matches("a.b*c", "a.b*c")  # regex characters are plain letters


async def finder(pilot: Pilot[Any], *keys: str) -> FinderScreen:
    await pilot.press("ctrl+k")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, FinderScreen)
                            and pilot.app.screen)
    if keys:
        await pilot.press(*keys)
    return screen  # type: ignore[no-any-return]


def hits(screen: FinderScreen) -> list[str]:
    options = screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


@pytest.mark.anyio
async def test_ctrl_k_finds_a_task_fuzzily_and_opens_it(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        screen = await finder(pilot, *"dmhel")
        await wait_for(pilot, lambda: hits(screen)[:1] == ["task:demo/hello"], what="the hit")
        await pilot.press("enter")
        task = await screen_named(pilot, "TaskScreen")
        assert task.key == "demo/hello"


@pytest.mark.anyio
async def test_a_number_finds_the_run_and_g_opens_the_finder(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "4", "HistoryScreen")
        await pilot.press("g")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, FinderScreen) and app.screen)
        await pilot.press(*str(IDS["dead"]))
        await wait_for(pilot, lambda: hits(screen)[:1] == [f"run:{IDS['dead']}"], what="the run")
        await pilot.press("enter")
        run = await screen_named(pilot, "RunScreen")
        assert run.run_id == IDS["dead"]


@pytest.mark.anyio
async def test_the_finder_goes_to_a_screen_and_down_chooses(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        screen = await finder(pilot, *"histo")
        await wait_for(pilot, lambda: hits(screen)[:1] == ["screen:history"], what="History")
        await pilot.press("enter")
        await screen_named(pilot, "HistoryScreen")
        screen = await finder(pilot, *"pipeline")
        await wait_for(pilot, lambda: len(hits(screen)) >= 2, what="several hits")
        second = hits(screen)[1]
        await pilot.press("down", "enter")
        kind, key = second.split(":", 1)
        shown = await wait_for(pilot, lambda: not isinstance(app.screen, FinderScreen)
                               and app.screen)
        await wait_settled(pilot)
        assert (getattr(shown, "key", None) or getattr(shown, "project", None)) == key, kind


@pytest.mark.anyio
async def test_the_tasks_filter_matches_letters_left_out(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        await pilot.press("slash", *"pltrns")
        table = screen.query_one(DataTable)
        await wait_for(
            pilot, lambda: table_keys(table) == ["pipeline/transform"], what="fuzzy filter"
        )


def finder_typed(*keys: str):  # type: ignore[no-untyped-def]
    async def setup(pilot: Pilot[Any]) -> None:
        screen = await finder(pilot, *keys)
        await wait_for(pilot, lambda: hits(screen), what="hits")
        await wait_settled(pilot)

    return setup


class TestFinderSnapshots:
    def test_finder_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, finder_typed(*"demo"))

    def test_finder_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, finder_typed())


def test_the_index_ranks_like_rank_and_never_matches_across_names() -> None:
    names = ["demo/hello  Hello world", "demo/chatty  Chatty", "dashboard", "xa", "by"]
    index = fuzzy.FuzzyIndex(names)
    assert [names[i] for i in index.find("dmhl")] == ["demo/hello  Hello world"]
    assert index.find("d")[0] == 2  # "dashboard": at the start of the shortest text
    assert index.find("ab") == [2]  # not "xa" + "by" across the line break
    assert index.find("") == [0, 1, 2, 3, 4]
