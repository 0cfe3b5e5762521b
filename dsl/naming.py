"""Stable names for requirements, groups and penalties of one badge.

Labels are optional in the language, but the engine stores progress per requirement
and group name, so every unlabeled one gets a generated name (``r1``, ``g1``, ``p1``)
that depends only on the order of statements and never reuses a written label. The
checker and the compiler both use this module so they always agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dsl import ast
from dsl.diagnostics import Span

__all__ = ["BadgeLayout", "NamedGroup", "layout_badge"]


@dataclass(frozen=True)
class NamedGroup:
    name: str
    label: ast.Ident | None
    members: tuple[tuple[str, ast.Requirement], ...]
    span: Span


@dataclass(frozen=True)
class BadgeLayout:
    groups: tuple[NamedGroup, ...]
    penalties: tuple[tuple[str, ast.Penalty], ...]

    def requirement_names(self) -> list[str]:
        return [name for group in self.groups for name, _ in group.members]


def layout_badge(badge: ast.Badge) -> BadgeLayout:
    """Group the badge's requirements (one group per bare ``require``) and name them all."""
    raw_groups = list(_raw_groups(badge.statements))
    requirements = [r for _, members, _ in raw_groups for r in members]
    penalties = [s for s in badge.statements if isinstance(s, ast.Penalty)]
    requirement_names = _names("r", [r.label for r in requirements])
    group_names = _names("g", [label for label, _, _ in raw_groups])
    penalty_names = _names("p", [p.label for p in penalties])
    names = iter(requirement_names)
    groups = tuple(
        NamedGroup(name, label, tuple((next(names), r) for r in members), span)
        for name, (label, members, span) in zip(group_names, raw_groups, strict=True)
    )
    return BadgeLayout(groups, tuple(zip(penalty_names, penalties, strict=True)))


def _raw_groups(
    statements: Sequence[ast.BadgeStatement],
) -> Iterator[tuple[ast.Ident | None, tuple[ast.Requirement, ...], Span]]:
    for statement in statements:
        if isinstance(statement, ast.Requirement):
            yield None, (statement,), statement.span
        elif isinstance(statement, ast.AnyGroup):
            yield statement.label, statement.members, statement.span


def _names(prefix: str, labels: Sequence[ast.Ident | None]) -> list[str]:
    taken = {label.name for label in labels if label is not None}
    counter = 0
    names = []
    for label in labels:
        if label is not None:
            names.append(label.name)
            continue
        counter += 1
        while f"{prefix}{counter}" in taken:
            counter += 1
        names.append(f"{prefix}{counter}")
    return names
