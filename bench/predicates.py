"""Scenario: predicate evaluation — compiled rules against a hand-written lambda (the
floor) and a naive key-path interpreter (what a rules engine without a compiler does)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import dsl

RULE = """
badge "b" {
    template credly "t"
    require on course_passed where is_passing and course.course_key == "course-v1:A+B+C"
        and user.is_active
}
"""
CONDITIONS = [
    ("is_passing", True),
    ("course.course_key", "course-v1:A+B+C"),
    ("user.is_active", True),
]
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


def _naive(p: Mapping[str, Any]) -> bool:
    for path, expected in CONDITIONS:
        value: Any = p
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                return False
            value = value[key]
        if str(value) != str(expected) or type(value) is not type(expected):
            return False
    return True


def _rate(fn: Callable[[Mapping[str, Any]], bool], rounds: int) -> float:
    payloads = PAYLOADS * 250
    start = time.perf_counter()
    for _ in range(rounds):
        for p in payloads:
            fn(p)
    return rounds * len(payloads) / (time.perf_counter() - start)


def run(quick: bool) -> dict[str, Any]:
    compiled = (
        dsl.compile_rules([dsl.SourceFile("b.badge", RULE)])
        .badges[0]
        .groups[0]
        .requirements[0]
        .matches
    )
    for p in PAYLOADS:
        assert compiled(p) == _hand_written(p) == _naive(p)
    rounds = 20 if quick else 200
    base = _rate(_hand_written, rounds)
    ours = _rate(compiled, rounds)
    naive = _rate(_naive, rounds)
    return {
        "name": "predicates",
        "hand_written_evals_per_s": round(base),
        "compiled_evals_per_s": round(ours),
        "naive_evals_per_s": round(naive),
        "compiled_cost_vs_hand_written": round(base / ours, 2),
        "naive_cost_vs_hand_written": round(base / naive, 2),
    }
