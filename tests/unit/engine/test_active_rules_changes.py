"""Switching templates on and off changes the index in place of a rebuild: the result
must be exactly what a rebuild gives, and the index it came from must not change (other
batches are still matching against it)."""

from __future__ import annotations

import random

import pytest

import dsl
from server.engine.ruleset import ActiveRules

PASSED = "org.openedx.learning.course.passing.status.updated.v1"
BADGES = 60


def _rules() -> dsl.RuleSet:
    blocks = [
        f"""badge "b{i}" {{
    template credly "t-{i}"
    require on course_passed where is_passing and course.course_key == "c-{i % 40}-a"
    require on course_passed where course.course_key == "c-{i}-b"
    penalty on course_passed where not is_passing and course.course_key == "c-{i}-b" resets all
}}"""
        for i in range(BADGES - 2)
    ]
    blocks.append('badge "any" {\n    template credly "t-any"\n    require on course_passed\n}')
    blocks.append(
        'badge "both" {\n    template credly "t-both"\n    require has badge "b1"\n'
        '    require has badge "any"\n}'
    )
    return dsl.compile_rules([dsl.SourceFile("many.badge", "\n".join(blocks))])


RULES = _rules()
TEMPLATES = [b.template_id for b in RULES.badges]
PAYLOADS = [
    {"is_passing": passing, "course": {"course_key": f"c-{n}-{part}"}}
    for n in range(BADGES)
    for part in "ab"
    for passing in (True, False)
] + [{"is_passing": True}, {}]


def _matches(rules: ActiveRules) -> list[list[tuple[int, str]]]:
    return [[(x.order, x.badge.slug) for x in rules.listeners(PASSED, p)] for p in PAYLOADS]


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(5)])
def test_toggled_templates_index_as_a_rebuild_does(seed: int) -> None:
    rng = random.Random(seed)
    active: set[str] = set()
    rules = ActiveRules(1, RULES, ())
    for _ in range(40):
        active ^= set(rng.sample(TEMPLATES, rng.randint(1, 6)))
        rules = rules.with_active(active)
        rebuilt = ActiveRules(1, RULES, active)
        assert _matches(rules) == _matches(rebuilt)
        assert {s: [b.slug for b in rules.dependents(s)] for s in ("b1", "any")} == {
            s: [b.slug for b in rebuilt.dependents(s)] for s in ("b1", "any")
        }


def test_the_index_a_change_starts_from_is_left_as_it_was() -> None:
    everything = ActiveRules(1, RULES, TEMPLATES)
    before = _matches(everything)
    fewer = everything.with_active(TEMPLATES[5:])
    more = fewer.with_active(TEMPLATES)
    assert _matches(everything) == before
    assert _matches(more) == before
    assert _matches(fewer) != before


def test_switching_everything_off_leaves_no_listener() -> None:
    rules = ActiveRules(1, RULES, TEMPLATES).with_active(())
    assert all(m == [] for m in _matches(rules))
    assert rules.dependents("b1") == ()
