"""The `needs` graph of one project: cycles, parents, children and topological order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycles(needs: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first walk, each as [a, b, …, a].

    Each cycle is reported once, starting from its smallest key, so messages are stable.
    """
    graph = {node: [n for n in parents if n in needs] for node, parents in needs.items()}
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for parent in sorted(graph[node]):
            if state.get(parent) == 1:
                cycle = stack[stack.index(parent) :]
                start = cycle.index(min(cycle))
                ordered = tuple(cycle[start:] + cycle[:start])
                if ordered not in seen:
                    seen.add(ordered)
                    cycles.append([*ordered, ordered[0]])
            elif parent not in state:
                visit(parent)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def children_of(needs: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Invert `needs` (child -> parents) into parent -> children."""
    children: dict[str, list[str]] = {node: [] for node in needs}
    for child, parents in needs.items():
        for parent in parents:
            children.setdefault(parent, []).append(child)
    return {node: sorted(kids) for node, kids in children.items()}


def descendants(needs: Mapping[str, Iterable[str]], root: str) -> list[str]:
    """Every task downstream of `root`, in a dependency-respecting order (root excluded)."""
    kids = children_of(needs)
    found: set[str] = set()
    todo = [root]
    while todo:
        for child in kids.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return [node for node in topological_order(needs) if node in found]


def topological_order(needs: Mapping[str, Iterable[str]]) -> list[str]:
    """Parents before children, ties broken by key; nodes in cycles are left out."""
    remaining = {node: {p for p in parents if p in needs} for node, parents in needs.items()}
    order: list[str] = []
    while True:
        ready = sorted(node for node, parents in remaining.items() if not parents)
        if not ready:
            return order
        for node in ready:
            order.append(node)
            del remaining[node]
        for parents in remaining.values():
            parents.difference_update(ready)
