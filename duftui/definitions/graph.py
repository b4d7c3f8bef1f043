"""The `needs` graph of one project: cycles, parents, children and topological order."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping


def find_cycles(needs: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Cycles that together pass through every task that is in any cycle, each as
    [a, b, …, a] where each task needs the next.

    For each such task not yet covered, the shortest cycle through it is taken, so every
    task in a cycle can be told which one; each cycle starts from its smallest key and the
    list is sorted, so messages are stable.
    """
    graph = {node: sorted({n for n in parents if n in needs}) for node, parents in needs.items()}
    found: set[tuple[str, ...]] = set()
    covered: set[str] = set()
    for node in sorted(graph):
        if node in covered:
            continue
        cycle = _shortest_cycle(graph, node)
        if cycle is None:
            continue
        start = cycle.index(min(cycle))
        found.add(tuple(cycle[start:] + cycle[:start]))
        covered.update(cycle)
    return [[*cycle, cycle[0]] for cycle in sorted(found)]


def _shortest_cycle(graph: Mapping[str, list[str]], node: str) -> list[str] | None:
    """The nodes of a shortest path node -> … -> node (breadth first), without the repeat."""
    came_from: dict[str, str] = {}
    queue = deque([node])
    while queue:
        current = queue.popleft()
        for parent in graph[current]:
            if parent == node:
                path = [current]
                while path[-1] != node:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if parent not in came_from:
                came_from[parent] = current
                queue.append(parent)
    return None


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
