"""Cycles among `has badge` requirements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

__all__ = ["find_cycles"]

Where = TypeVar("Where")


def find_cycles(
    edges: Sequence[tuple[str, str, Where]],
) -> Iterable[tuple[list[str], Where]]:
    """Each cycle once, as (``[a, b, ..., a]``, where of its first edge ``a -> b``).

    Cycles are found one per strongly connected component, starting at the component's
    first node in edge order, so the report is stable and not repeated per member.
    """
    graph: dict[str, list[tuple[str, Where]]] = {}
    for source, target, where in edges:
        graph.setdefault(source, []).append((target, where))
    reported: set[str] = set()
    for source, _, _ in edges:
        if source in reported:
            continue
        path = _cycle_from(source, graph)
        if path is not None:
            reported.update(node for node, _ in path)
            nodes = [node for node, _ in path] + [source]
            yield nodes, path[0][1]


def _cycle_from(
    start: str, graph: dict[str, list[tuple[str, Where]]]
) -> list[tuple[str, Where]] | None:
    """A path start -> ... -> start as (node, where of the edge leaving it), or None."""
    stack: list[tuple[str, Where]] = []
    seen: set[str] = set()

    def visit(node: str) -> bool:
        for target, where in graph.get(node, ()):
            stack.append((node, where))
            if target == start:
                return True
            if target not in seen:
                seen.add(target)
                if visit(target):
                    return True
            stack.pop()
        return False

    return stack if visit(start) else None
