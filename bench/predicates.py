"""Scenario: predicate evaluation — compiled rules against a hand-written lambda (the
floor) and a naive interpreter (the ceiling: what a rules engine without a compiler does).

The naive interpreter is the straightforward design: conditions kept as a tree of plain
dicts, walked for every event, dispatching on node kind and operator names, splitting
each key path on every evaluation and comparing values as strings — the approach of the
systems badgeflow replaces."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import dsl
from bench.context import Context

RULE = """
badge "b" {
    template credly "t"
    require on course_passed where is_passing and course.course_key == "course-v1:A+B+C"
        and user.is_active
}
"""
TREE = {
    "kind": "all",
    "of": [
        {"kind": "compare", "path": "is_passing", "op": "==", "value": True},
        {"kind": "compare", "path": "course.course_key", "op": "==", "value": "course-v1:A+B+C"},
        {"kind": "compare", "path": "user.is_active", "op": "==", "value": True},
    ],
}
PAYLOADS = [
    {"is_passing": True, "course": {"course_key": "course-v1:A+B+C"}, "user": {"is_active": True}},
    {"is_passing": True, "course": {"course_key": "course-v1:A+B+D"}, "user": {"is_active": True}},
    {"is_passing": False, "course": {"course_key": "course-v1:A+B+C"}, "user": {"is_active": True}},
    {"is_passing": True, "user": {"is_active": True}},
]


def _hand_written(p: Mapping[str, Any]) -> bool:
    course = p.get("course")
    user = p.get("user")
    return (
        p.get("is_passing") is True
        and isinstance(course, dict)
        and course.get("course_key") == "course-v1:A+B+C"
        and isinstance(user, dict)
        and user.get("is_active") is True
    )


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _naive(node: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    if node["kind"] == "all":
        return all(_naive(child, payload) for child in node["of"])
    if node["kind"] == "any":
        return any(_naive(child, payload) for child in node["of"])
    value: Any = payload
    for key in node["path"].split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    return _OPERATORS[node["op"]](str(value), str(node["value"]))


def _rate(fn: Callable[[Mapping[str, Any]], bool], rounds: int) -> float:
    payloads = PAYLOADS * 250
    start = time.perf_counter()
    for _ in range(rounds):
        for p in payloads:
            fn(p)
    return rounds * len(payloads) / (time.perf_counter() - start)


def run(ctx: Context) -> dict[str, Any]:
    rule_set = dsl.compile_rules([dsl.SourceFile("b.badge", RULE)])
    compiled = rule_set.badges[0].groups[0].requirements[0].matches
    naive = lambda p: _naive(TREE, p)  # noqa: E731
    for p in PAYLOADS:
        assert compiled(p) == _hand_written(p) == naive(p)
    rounds = 20 if ctx.quick else 200
    base = _rate(_hand_written, rounds)
    ours = _rate(compiled, rounds)
    slow = _rate(naive, rounds)
    return {
        "name": "predicates",
        "hand_written_evals_per_s": round(base),
        "compiled_evals_per_s": round(ours),
        "naive_evals_per_s": round(slow),
        "compiled_cost_vs_hand_written": round(base / ours, 2),
        "naive_cost_vs_compiled": round(ours / slow, 1),
    }
