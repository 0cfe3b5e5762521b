"""Checked AST -> ``RuleSet``: badges, groups, requirements with their triggers.

Each ``on EVENT ...`` becomes a ``Trigger``: its predicate (generated code, see
``dsl.predicates``), its index equalities and its ``during`` bounds. A requirement's
kind follows its form: one match, ``count``, ``count distinct``, ``then`` steps, or
``has badge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dsl import ast
from dsl.checker import Environment
from dsl.descriptions import describe_match, describe_requirement
from dsl.evidence import compile_template
from dsl.naming import BadgeLayout, layout_badge
from dsl.predicates import compile_conditions, equalities
from dsl.ruleset import (
    CompiledBadge,
    CompiledEvidence,
    CompiledGroup,
    CompiledPenalty,
    CompiledRequirement,
    Expiry,
    IssueMethod,
    RequirementKind,
    RuleSet,
    Trigger,
)
from dsl.schemas import FieldType
from dsl.timestamps import parse_literal
from dsl.units import EXPIRY_UNITS, WINDOW_UNITS, unit_name

__all__ = ["compile_files", "compile_trigger", "describe_match"]


def compile_files(files: Sequence[ast.RuleFile], env: Environment) -> RuleSet:
    """Compile checked files; the caller guarantees the checker found no error."""
    badges = tuple(_compile_badge(b, env) for f in files for b in f.badges)
    return RuleSet(badges)


def _compile_badge(badge: ast.Badge, env: Environment) -> CompiledBadge:
    layout = layout_badge(badge)
    statements = badge.statements
    template = next(s for s in statements if isinstance(s, ast.Template))
    written = next((s.text for s in statements if isinstance(s, ast.Description)), None)
    method = next((s for s in statements if isinstance(s, ast.Method)), None)
    groups = tuple(_compile_group(g.name, g.members, env) for g in layout.groups)
    return CompiledBadge(
        slug=badge.slug,
        provider=template.provider.name,
        template_external_id=template.external_id,
        description=written if written is not None else _describe_groups(groups),
        repeatable=any(isinstance(s, ast.Repeatable) for s in statements),
        groups=groups,
        penalties=tuple(_compile_penalty(n, p, layout, env) for n, p in layout.penalties),
        method=IssueMethod(method.name.name) if method else IssueMethod.ISSUE,
        expiry=_compile_expiry(statements),
        evidence=tuple(
            CompiledEvidence(
                kind=s.kind.name,
                name=s.name.value,
                template=s.template.value,
                render=compile_template(s.template.value, url=s.kind.name == "url"),
            )
            for s in statements
            if isinstance(s, ast.Evidence)
        ),
    )


def _compile_group(
    name: str, members: Sequence[tuple[str, ast.Requirement]], env: Environment
) -> CompiledGroup:
    return CompiledGroup(name, tuple(_compile_requirement(n, r, env) for n, r in members))


def _compile_requirement(
    name: str, requirement: ast.Requirement, env: Environment
) -> CompiledRequirement:
    criterion = requirement.criterion
    triggers = tuple(
        compile_trigger(match, env, f"{name}[{slot}]" if slot else name, slot)
        for slot, match in enumerate(requirement.matches)
    )
    kind = RequirementKind.MATCH
    threshold, distinct_path, badge = 1, (), ""
    if isinstance(criterion, ast.Count):
        kind = RequirementKind.DISTINCT if criterion.distinct else RequirementKind.COUNT
        threshold = int(criterion.threshold.value)
        distinct_path = criterion.distinct.segments if criterion.distinct else ()
    elif isinstance(criterion, ast.InOrder):
        kind = RequirementKind.SEQUENCE
    elif isinstance(criterion, ast.HasBadge):
        kind, badge = RequirementKind.HAS_BADGE, criterion.slug
    return CompiledRequirement(
        name=name,
        description=describe_requirement(requirement),
        triggers=triggers,
        kind=kind,
        threshold=threshold,
        distinct_path=distinct_path,
        window=_window(requirement.window),
        badge=badge,
    )


def _window(window: ast.Window | None) -> timedelta | None:
    if window is None:
        return None
    unit = unit_name(window.unit.name, WINDOW_UNITS)
    assert unit is not None, "the checker validates units"
    return timedelta(**{unit: int(window.amount.value)})


def _compile_expiry(statements: Sequence[ast.BadgeStatement]) -> Expiry | None:
    for statement in statements:
        if isinstance(statement, ast.ExpiresOn):
            return Expiry(on=parse_literal(statement.at.text))
        if isinstance(statement, ast.ExpiresAfter):
            unit = unit_name(statement.unit.name, EXPIRY_UNITS)
            assert unit is not None, "the checker validates units"
            return Expiry(amount=int(statement.amount.value), unit=unit)
    return None


def _compile_penalty(
    name: str, penalty: ast.Penalty, layout: BadgeLayout, env: Environment
) -> CompiledPenalty:
    resets = layout.requirement_names() if penalty.resets_all else [t.name for t in penalty.resets]
    return CompiledPenalty(
        name=name,
        description=describe_match(penalty.match),
        trigger=compile_trigger(penalty.match, env, name),
        resets=tuple(resets),
    )


def compile_trigger(match: ast.Match, env: Environment, name: str, slot: int = 0) -> Trigger:
    """One ``on EVENT [where ...] [during A .. B]`` of a checked rule."""
    event_type = env.event_type(match.event.span.file, match.event)
    assert event_type is not None, "the checker resolves every event"
    schema = env.schemas[event_type]

    def field_type(path: ast.Path) -> FieldType:
        return schema[path.dotted]

    description = describe_match(match)
    during = match.during
    return Trigger(
        event_type=event_type,
        matches=compile_conditions(match.conditions, field_type, name=f"{name}: {description}"),
        description=description,
        slot=slot,
        equalities=equalities(match.conditions, field_type),
        after=parse_literal(during.start.text) if during else None,
        before=parse_literal(during.end.text) if during else None,
    )


def _describe_groups(groups: Sequence[CompiledGroup]) -> str:
    parts = []
    for group in groups:
        texts = [r.description for r in group.requirements]
        parts.append(texts[0] if len(texts) == 1 else "any of (" + " | ".join(texts) + ")")
    return "; ".join(parts)
