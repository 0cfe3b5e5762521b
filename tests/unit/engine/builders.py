"""Compiled rules built by hand, so engine tests do not depend on the rule syntax."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from dsl.ruleset import (
    CompiledBadge,
    CompiledEvidence,
    CompiledGroup,
    CompiledPenalty,
    CompiledRequirement,
    Expiry,
    RequirementKind,
    Trigger,
)

EVENT = "com.example.course.passed.v1"


def course_is(course: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda p: p.get("course") == course


def trigger(
    course: str | None = None,
    *,
    slot: int = 0,
    after: datetime | None = None,
    before: datetime | None = None,
) -> Trigger:
    matches = course_is(course) if course is not None else (lambda p: True)
    equalities = ((("course",), course),) if course is not None else ()
    return Trigger(EVENT, matches, f"course {course}", slot, equalities, after, before)


def requirement(
    name: str,
    *triggers: Trigger,
    kind: RequirementKind = RequirementKind.MATCH,
    threshold: int = 1,
    distinct: tuple[str, ...] = (),
    window: timedelta | None = None,
    badge: str = "",
) -> CompiledRequirement:
    return CompiledRequirement(
        name, name, tuple(triggers), kind, threshold, distinct, window, badge
    )


def badge(
    slug: str,
    *requirements: CompiledRequirement,
    penalties: tuple[CompiledPenalty, ...] = (),
    repeatable: bool = False,
    expiry: Expiry | None = None,
    evidence: tuple[CompiledEvidence, ...] = (),
) -> CompiledBadge:
    groups = tuple(CompiledGroup(f"g{i}", (r,)) for i, r in enumerate(requirements, 1))
    return CompiledBadge(
        slug, "credly", slug, slug, repeatable, groups, penalties, expiry=expiry, evidence=evidence
    )


def penalty(name: str, course: str, resets: tuple[str, ...]) -> CompiledPenalty:
    return CompiledPenalty(name, name, trigger(course), resets)


def evidence_of(path: str, name: str = "Course") -> CompiledEvidence:
    def render(payload: Mapping[str, Any]) -> str | None:
        value = payload.get(path)
        return None if value is None else f"https://lms.example.org/{value}"

    return CompiledEvidence("url", name, "https://lms.example.org/{" + path + "}", render)
