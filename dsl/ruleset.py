"""The compiled form of rule files: plain frozen data the engine runs without the grammar.

Each requirement and penalty carries ``matches``, a predicate compiled once from its
data rules; the engine calls it for every event of ``event_type`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CompiledBadge",
    "CompiledGroup",
    "CompiledPenalty",
    "CompiledRequirement",
    "Predicate",
    "RuleSet",
]

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class CompiledRequirement:
    """One event type plus its data rules.

    Example::

        >>> requirement.matches({"is_passing": True})
        True
    """

    name: str
    event_type: str
    description: str
    matches: Predicate = field(compare=False, repr=False)


@dataclass(frozen=True)
class CompiledGroup:
    """Fulfilled when any of its requirements is; a badge needs all of its groups."""

    name: str
    requirements: tuple[CompiledRequirement, ...]


@dataclass(frozen=True)
class CompiledPenalty:
    """An event that, when it matches, resets the progress of ``resets``."""

    name: str
    event_type: str
    description: str
    matches: Predicate = field(compare=False, repr=False)
    resets: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledBadge:
    """One badge: a provider template earned when all ``groups`` are fulfilled."""

    slug: str
    provider: str
    template_external_id: str
    description: str
    repeatable: bool
    groups: tuple[CompiledGroup, ...]
    penalties: tuple[CompiledPenalty, ...]

    @property
    def template_id(self) -> str:
        """``provider:external_id``, e.g. ``accredible:12345``."""
        return f"{self.provider}:{self.template_external_id}"

    def requirement(self, name: str) -> CompiledRequirement:
        """The requirement called ``name``; raises KeyError if there is none."""
        for group in self.groups:
            for requirement in group.requirements:
                if requirement.name == name:
                    return requirement
        raise KeyError(name)


@dataclass(frozen=True)
class RuleSet:
    """All badges compiled from a set of rule files.

    Example::

        >>> ruleset = compile_rules([SourceFile("a.badge", text)])
        >>> ruleset.badge_for_template("credly:8f2b7c1e-...").slug
        'demo-graduate'
    """

    badges: tuple[CompiledBadge, ...]
    _by_template: Mapping[str, CompiledBadge] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Frozen, so the index is set once here; the checker guarantees templates are unique.
        object.__setattr__(self, "_by_template", {b.template_id: b for b in self.badges})

    def badge_for_template(self, template_id: str) -> CompiledBadge | None:
        """The badge bound to ``provider:external_id``, or None."""
        return self._by_template.get(template_id)
