"""The needs graph: cycles, children, descendants and topological order."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from duftui.definitions.graph import children_of, descendants, find_cycles, topological_order

CHAIN = {"extract": [], "transform": ["extract"], "report": ["transform"], "audit": ["extract"]}


def test_no_cycles_in_a_chain() -> None:
    assert find_cycles(CHAIN) == []


def test_cycle_of_three_is_reported_once_from_its_smallest_key() -> None:
    needs = {"b": ["a"], "c": ["b"], "a": ["c"], "d": ["a"]}
    assert find_cycles(needs) == [["a", "c", "b", "a"]]


def test_self_loop_and_two_separate_cycles() -> None:
    needs = {"x": ["x"], "p": ["q"], "q": ["p"]}
    assert find_cycles(needs) == [["p", "q", "p"], ["x", "x"]]


def test_every_task_in_a_cycle_is_in_a_reported_cycle() -> None:
    """A depth-first walk finds a → b → d → a first and then never reports c, although
    a → c → b → d → a is a cycle too."""
    needs = {"a": ["b", "c"], "b": ["d"], "c": ["b"], "d": ["a"]}
    assert find_cycles(needs) == [["a", "b", "d", "a"], ["a", "c", "b", "d", "a"]]


def test_unknown_parents_are_ignored() -> None:
    assert find_cycles({"a": ["missing"]}) == []
    assert topological_order({"a": ["missing"]}) == ["a"]


def test_children_and_descendants() -> None:
    assert children_of(CHAIN) == {
        "audit": [],
        "extract": ["audit", "transform"],
        "report": [],
        "transform": ["report"],
    }
    assert descendants(CHAIN, "extract") == ["audit", "transform", "report"]
    assert descendants(CHAIN, "transform") == ["report"]
    assert descendants(CHAIN, "report") == []


def test_topological_order_puts_parents_first_and_leaves_out_cycles() -> None:
    assert topological_order(CHAIN) == ["extract", "audit", "transform", "report"]
    assert topological_order({"a": ["b"], "b": ["a"], "c": []}) == ["c"]


graphs = st.dictionaries(
    st.sampled_from("abcdefg"), st.lists(st.sampled_from("abcdefg"), max_size=3), max_size=7
)


@given(graphs)
def test_order_respects_every_edge_and_cycles_are_real(needs: dict[str, list[str]]) -> None:
    order = topological_order(needs)
    position = {node: index for index, node in enumerate(order)}
    for node in order:
        for parent in needs[node]:
            if parent in needs:
                assert position[parent] < position[node]
    for cycle in find_cycles(needs):
        assert cycle[0] == cycle[-1] == min(cycle)
        for child, parent in itertools.pairwise(cycle):
            assert parent in needs[child]
    in_reported = {node for cycle in find_cycles(needs) for node in cycle}
    assert in_reported == {node for node in needs if _reaches_itself(needs, node)}
    if not in_reported:
        assert sorted(order) == sorted(needs)


def _reaches_itself(needs: dict[str, list[str]], node: str) -> bool:
    todo, seen = [p for p in needs[node] if p in needs], set()
    while todo:
        current = todo.pop()
        if current == node:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(p for p in needs[current] if p in needs)
    return False
