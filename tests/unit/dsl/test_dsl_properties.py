"""Properties: the compiler never crashes on bad input, and compiled predicates agree
with the reference interpreter (``reference_interpreter.py``) on random conditions and
random payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_interpreter import holds_all

import dsl
from dsl import ast
from dsl.checker import check_files
from dsl.diagnostics import SourceLines
from dsl.parser import MAX_NESTING, parse

CASES = Path(__file__).parents[2] / "dsl" / "cases"
VALID_SOURCES = [
    p.read_text(encoding="utf-8").split("--- file:")[0] for p in sorted(CASES.glob("valid_*.rules"))
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- (a) bad input only ever produces diagnostics ------------------------------------

TOKENS = [
    "badge",
    "require",
    "any",
    "penalty",
    "resets",
    "all",
    "on",
    "where",
    "and",
    "or",
    "not",
    "in",
    "exists",
    "contains",
    "starts with",
    "ends with",
    "matches",
    "ignoring case",
    "count",
    "distinct",
    "of",
    "then",
    "within",
    "during",
    "..",
    "has badge",
    "method",
    "expires after",
    "expires on",
    "evidence url",
    "template credly",
    "description",
    "repeatable",
    "==",
    "!=",
    "<",
    ">=",
    "=",
    "&&",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    '"x"',
    '"{a.b}"',
    "/a(/",
    "/x/",
    "5",
    "-1",
    "2.5",
    "2027-02-01",
    "2027-02-30",
    "2027-02-01T10:00:00",
    "2027-02-01T10:00:00Z",
    "yes",
    "days",
    "years",
    "\n",
    "#",
    "quiz_graded",
    "course_passed",
    "score",
    "passed",
    "course.course_key",
    '"b"',
]


def assert_only_diagnostics(text: str) -> None:
    files = [dsl.SourceFile("m.rules", text)]
    for diagnostic in dsl.check(files):
        assert diagnostic.code in dsl.diagnostics.CODES
        assert isinstance(diagnostic.render(), str)
    try:
        dsl.compile_rules(files)
    except dsl.RuleError as error:
        assert error.diagnostics


@st.composite
def mutated_source(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        kind = draw(st.sampled_from(["delete", "insert", "token", "duplicate"]))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "insert":
            text = text[:start] + draw(st.text(max_size=3)) + text[start:]
        elif kind == "token":
            text = text[:start] + " " + draw(st.sampled_from(TOKENS)) + " " + text[end:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    return text


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_only_produces_diagnostics(text: str) -> None:
    assert_only_diagnostics(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_random_token_soup_only_produces_diagnostics(text: str) -> None:
    assert_only_diagnostics('badge "b" { template credly "t" ' + text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_source())
def test_mutated_valid_files_only_produce_diagnostics(text: str) -> None:
    assert_only_diagnostics(text)


@st.composite
def nested_condition(draw: st.DrawFn) -> tuple[str, int, bool]:
    """A condition built by wrapping `is_passing` in and / or / not / parentheses, how
    many of those wrappers add a level to the parse tree, and its value when
    `is_passing` is true."""
    text, levels, value = "is_passing", 0, True
    for kind in draw(st.lists(st.sampled_from(["and", "or", "not", "()"]), max_size=300)):
        if kind == "()":
            text = f"({text})"  # parentheses only group: no level of their own
        elif kind == "not":
            text, levels, value = f"not ({text})", levels + 1, not value
        else:
            text, levels = f"({text}) {kind} is_passing", levels + 1
            value = value or kind == "or"
    return text, levels, value


@SETTINGS
@given(nested_condition())
def test_deep_conditions_compile_or_are_refused_with_e112(case: tuple[str, int, bool]) -> None:
    """However deep, a condition is compiled and runs, or is refused with E112: never a
    RecursionError somewhere in the parser, checker, compiler or the generated code."""
    condition, levels, value = case
    source = (
        'event passed = "org.openedx.learning.course.passing.status.updated.v1"\n'
        f'badge "b" {{ template credly "t" require on passed where {condition} }}\n'
    )
    files = [dsl.SourceFile("deep.badge", source)]
    codes = [d.code for d in dsl.check(files)]
    if levels > MAX_NESTING:
        assert codes == ["E112"]
        return
    if codes == ["E112"]:
        return  # near the limit the file's own levels count too
    assert codes == []
    (trigger,) = dsl.compile_rules(files).badges[0].groups[0].requirements[0].triggers
    assert trigger.accepts({"is_passing": True}, datetime(2027, 1, 1, tzinfo=UTC)) is value


# ---- (b) compiled predicates agree with the reference interpreter --------------------

EVENT = """event e = "com.example.props.v1" {
    s: string
    n: number
    b: bool
    t: timestamp
    o.s: string
    o.n: number
}
"""
STRINGS = ["a", "A", "ab", "Ab", "bA", "", "straße", "STRASSE", "a/b", "x1"]
NUMBERS = [0, 1, -1, 2.5, 5, 5.0, 1e3]
TIMESTAMPS = ["2027-02-01", "2027-02-01T10:00:00Z", "2027-02-01T12:00:00+02:00", "2026-12-31"]
REGEXES = ["/^a/", "/b$/", '"a.b"', "/[0-9]+/", "/^$/", "/s{2}/", "/a\\/b/"]


def string_literal(value: str) -> str:
    return '"' + value + '"'


CASE = st.sampled_from(["", " ignoring case"])


def listed(items: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(items, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")


def string_tests(path: str) -> st.SearchStrategy[str]:
    literal = st.sampled_from(STRINGS).map(string_literal)
    return st.one_of(
        st.tuples(st.sampled_from(["==", "!="]), literal, CASE).map(
            lambda t: f"{path} {t[0]} {t[1]}{t[2]}"
        ),
        st.tuples(st.sampled_from(["in", "not in"]), listed(literal), CASE).map(
            lambda t: f"{path} {t[0]} {t[1]}{t[2]}"
        ),
        st.tuples(
            st.sampled_from(["", "not "]),
            st.sampled_from(["starts with", "ends with", "contains"]),
            literal,
            CASE,
        ).map(lambda t: f"{path} {t[0]}{t[1]} {t[2]}{t[3]}"),
        st.tuples(st.sampled_from(["", "not "]), st.sampled_from(REGEXES), CASE).map(
            lambda t: f"{path} {t[0]}matches {t[1]}{t[2]}"
        ),
    )


def ordered_tests(path: str, literals: list[str]) -> st.SearchStrategy[str]:
    literal = st.sampled_from(literals)
    return st.one_of(
        st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), literal).map(
            lambda t: f"{path} {t[0]} {t[1]}"
        ),
        st.tuples(st.sampled_from(["in", "not in"]), listed(literal)).map(
            lambda t: f"{path} {t[0]} {t[1]}"
        ),
    )


LEAVES = st.one_of(
    string_tests("s"),
    string_tests("o.s"),
    ordered_tests("n", [str(n) for n in NUMBERS]),
    ordered_tests("o.n", [str(n) for n in NUMBERS]),
    ordered_tests("t", TIMESTAMPS),
    st.sampled_from(["b", "b == true", "b == no", "b != true", "b in [false]"]),
    st.tuples(st.sampled_from(["s", "n", "b", "t", "o", "o.s", "o.n"]), st.booleans()).map(
        lambda t: f"{t[0]} {'not exists' if t[1] else 'exists'}"
    ),
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        inner.map(lambda c: f"not {c}"),
        inner.map(lambda c: f"not ({c})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
    ),
    max_leaves=6,
)

PAYLOAD_TIMES = [
    "2027-02-01T00:00:00Z",
    "2027-02-01T10:00:00+00:00",
    "2027-02-01T09:59:59Z",
    "2027-02-01T10:00:00",
    "2027-02-01",
    "not a time",
    "2026-12-31T23:00:00-01:00",
]
SCALARS = st.one_of(
    st.sampled_from(STRINGS),
    st.sampled_from(NUMBERS),
    st.booleans(),
    st.none(),
    st.sampled_from(PAYLOAD_TIMES),
    st.integers(-3, 3),
    st.floats(allow_nan=False, min_value=-10, max_value=10),
)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.sampled_from(["s", "n"]), SCALARS)
)
INNER = st.one_of(
    st.dictionaries(st.sampled_from(["s", "n", "x"]), VALUES, max_size=3),
    SCALARS,
)
PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "s": VALUES,
        "n": VALUES,
        "b": VALUES,
        "t": st.one_of(st.sampled_from(PAYLOAD_TIMES), VALUES),
        "o": INNER,
    },
)


def compile_and_reference(condition: str) -> tuple[Any, Any]:
    text = EVENT + f'badge "p" {{\n  template credly "t"\n  require r: on e where {condition}\n}}\n'
    files = [dsl.SourceFile("p.rules", text)]
    predicate = dsl.compile_rules(files).badges[0].requirement("r").matches
    tree = parse("p.rules", text).tree
    assert tree is not None
    diagnostics, env = check_files([tree], SourceLines({"p.rules": text}))
    assert diagnostics == []
    requirement = tree.badges[0].statements[1]
    assert isinstance(requirement, ast.Requirement)
    schema = env.schemas["com.example.props.v1"]
    match = requirement.matches[0]

    def reference(payload: dict[str, Any]) -> bool:
        return holds_all(match.conditions, lambda path: schema[path.dotted], payload)

    return predicate, reference


@SETTINGS
@given(CONDITIONS, st.lists(PAYLOADS, min_size=1, max_size=12))
def test_compiled_predicate_equals_reference(condition: str, payloads: list[dict]) -> None:
    predicate, reference = compile_and_reference(condition)
    for payload in payloads:
        assert predicate(payload) is reference(payload), (condition, payload)
