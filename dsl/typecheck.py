"""Type rules of `where` conditions and literals, for the checker.

* ``==``/``!=`` work on every field type, with a literal of that type;
* ``< <= > >=`` only on numbers and timestamps;
* ``starts with``, ``ends with``, ``contains`` and ``matches`` only on strings;
* ``in [...]`` lists hold literals of one type, the field's;
* ``ignoring case`` only on string fields;
* ``exists`` on any path, objects included;
* a bare path only on bool fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from dsl import ast
from dsl.diagnostics import Span, did_you_mean
from dsl.schemas import FieldType
from dsl.timestamps import LiteralProblem, parse_literal

__all__ = ["ConditionChecker", "Report", "check_timestamp", "regex_flags"]

Report = Callable[[str, str, Span, str | None], None]

_ORDERING = frozenset({"<", "<=", ">", ">="})
_LITERAL_TYPES = {
    ast.StringLiteral: FieldType.STRING,
    ast.NumberLiteral: FieldType.NUMBER,
    ast.BoolLiteral: FieldType.BOOL,
    ast.TimestampLiteral: FieldType.TIMESTAMP,
}


def regex_flags(ignore_case: bool) -> int:
    return re.IGNORECASE if ignore_case else 0


def check_timestamp(literal: ast.TimestampLiteral, report: Report) -> bool:
    """Report an impossible date (E313) or a missing offset (E314); True when valid."""
    try:
        parse_literal(literal.text)
    except LiteralProblem as problem:
        if problem.kind == "naive":
            report(
                "E314",
                f"timestamp {literal.text} has no UTC offset",
                literal.span,
                f"add Z for UTC ({literal.text}Z) or an offset ({literal.text}+02:00)",
            )
        else:
            report(
                "E313",
                f"invalid timestamp {literal.text}",
                literal.span,
                "write a real date as YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ",
            )
        return False
    return True


class ConditionChecker:
    """Checks the conditions of one match against one event's fields."""

    def __init__(self, fields: Mapping[str, FieldType], event_name: str, report: Report) -> None:
        self.fields = fields
        self.event_name = event_name
        self.report = report

    def check(self, condition: ast.Condition) -> None:
        if isinstance(condition, ast.AllOf | ast.AnyOf):
            for operand in condition.operands:
                self.check(operand)
        elif isinstance(condition, ast.Not):
            self.check(condition.operand)
        elif isinstance(condition, ast.Exists):
            self._check_exists(condition)
        else:
            field_type = self.field(condition.path)
            if field_type is not None:
                self._check_test(condition, field_type)

    def field(self, path: ast.Path) -> FieldType | None:
        """The field's type, or None after reporting E203 (with a did-you-mean)."""
        field_type = self.fields.get(path.dotted)
        if field_type is not None:
            return field_type
        children = sorted(f for f in self.fields if f.startswith(path.dotted + "."))
        if children:
            hint = f"'{path.dotted}' is an object; compare one of its fields, e.g. '{children[0]}'"
        else:
            hint = did_you_mean(path.dotted, self.fields) or (
                f"fields of '{self.event_name}': {', '.join(sorted(self.fields)) or '(none)'}"
            )
        self.report(
            "E203", f"unknown field '{path.dotted}' in event '{self.event_name}'", path.span, hint
        )
        return None

    def _check_exists(self, condition: ast.Exists) -> None:
        dotted = condition.path.dotted
        if any(f == dotted or f.startswith(dotted + ".") for f in self.fields):
            return
        self.field(condition.path)

    def _check_test(self, condition: ast.Test, field_type: FieldType) -> None:
        if isinstance(condition, ast.Truthy):
            self._check_truthy(condition, field_type)
            return
        if getattr(condition, "ignore_case", False) and field_type is not FieldType.STRING:
            self.report(
                "E310",
                f"'ignoring case' on '{condition.path.dotted}', a {field_type.value}",
                condition.span,
                "only strings have a case; remove 'ignoring case'",
            )
        if isinstance(condition, ast.Comparison):
            self._check_comparison(condition, field_type)
        elif isinstance(condition, ast.Membership):
            self._check_membership(condition, field_type)
        elif isinstance(condition, ast.TextTest | ast.RegexTest):
            self._check_text(condition, field_type)

    def _check_truthy(self, condition: ast.Truthy, field_type: FieldType) -> None:
        if field_type is FieldType.BOOL:
            return
        path = condition.path.dotted
        hint = {
            FieldType.NUMBER: f"compare it, e.g. {path} == 5",
            FieldType.STRING: f'compare it, e.g. {path} == "x"',
            FieldType.TIMESTAMP: f"compare it, e.g. {path} >= 2027-01-01, or test '{path} exists'",
        }[field_type]
        self.report(
            "E303",
            f"'{path}' is a {field_type.value}, not a bool; it cannot stand alone",
            condition.span,
            hint,
        )

    def _check_comparison(self, condition: ast.Comparison, field_type: FieldType) -> None:
        path = condition.path.dotted
        if condition.op in _ORDERING and field_type in (FieldType.STRING, FieldType.BOOL):
            hint = (
                "'<', '<=', '>' and '>=' compare numbers and timestamps; for text use"
                " ==, in [...], starts with, ends with, contains or matches"
                if field_type is FieldType.STRING
                else "compare a bool with == true or == false"
            )
            self.report(
                "E308",
                f"'{condition.op}' on '{path}', a {field_type.value}",
                condition.span,
                hint,
            )
            return
        self.check_literal(path, condition.value, field_type)

    def _check_membership(self, condition: ast.Membership, field_type: FieldType) -> None:
        first = condition.values[0]
        for value in condition.values[1:]:
            if _kind(value) != _kind(first):
                self.report(
                    "E311",
                    f"the list mixes {_kind(first)} and {_kind(value)} values",
                    value.span,
                    f"'{condition.path.dotted}' is a {field_type.value}; give every value"
                    f" as {_example(field_type)}",
                )
                return
        for value in condition.values:
            if not self.check_literal(condition.path.dotted, value, field_type):
                return

    def _check_text(self, condition: ast.TextTest | ast.RegexTest, field_type: FieldType) -> None:
        op = condition.op if isinstance(condition, ast.TextTest) else "matches"
        if field_type is not FieldType.STRING:
            self.report(
                "E309",
                f"'{op}' on '{condition.path.dotted}', a {field_type.value}",
                condition.span,
                f"'{op}' tests strings; compare a {field_type.value} with ==, !="
                + (", <, <=, >, >=" if field_type is not FieldType.BOOL else ""),
            )
            return
        if isinstance(condition, ast.RegexTest):
            self._check_regex(condition.pattern, condition.ignore_case)

    def _check_regex(self, literal: ast.RegexLiteral, ignore_case: bool) -> None:
        try:
            re.compile(literal.pattern, regex_flags(ignore_case))
        except re.error as exc:
            position = exc.pos if exc.pos is not None else 0
            column = (
                literal.columns[position]
                if position < len(literal.columns)
                else literal.span.column
            )
            span = Span(literal.span.file, literal.span.line, column, literal.span.line, column + 1)
            self.report(
                "E312",
                f"invalid regular expression: {exc.msg}",
                span,
                "see https://docs.python.org/3/library/re.html#regular-expression-syntax",
            )
        except (OverflowError, RecursionError, ValueError) as exc:
            self.report("E312", f"invalid regular expression: {exc}", literal.span, None)

    def check_literal(self, path: str, value: ast.Literal, field_type: FieldType) -> bool:
        """Report a literal that does not fit the field; True when it fits."""
        if isinstance(value, ast.BareWord):
            hint = (
                "write true or false"
                if field_type is FieldType.BOOL
                else f'quote it: "{value.text}"'
            )
            self.report("E305", f"unquoted word '{value.text}' used as a value", value.span, hint)
            return False
        if (
            isinstance(value, ast.BoolLiteral)
            and value.is_alias
            and field_type is not FieldType.BOOL
        ):
            self.report(
                "E302",
                f"'{value.spelling}' means a bool, but '{path}' is a {field_type.value}",
                value.span,
                f"aliases like yes/no/+/- are for bool fields; write {_example(field_type)}",
            )
            return False
        literal_type = _LITERAL_TYPES[type(value)]
        if literal_type is not field_type:
            self.report(
                "E301",
                f"'{path}' is a {field_type.value}, but the value is a {literal_type.value}",
                value.span,
                _mismatch_hint(value, field_type),
            )
            return False
        if isinstance(value, ast.TimestampLiteral):
            return check_timestamp(value, self.report)
        return True


def _kind(value: ast.Literal) -> str:
    if isinstance(value, ast.BareWord):
        return "unquoted"
    return _LITERAL_TYPES[type(value)].value


def _mismatch_hint(value: ast.Literal, field_type: FieldType) -> str:
    if isinstance(value, ast.StringLiteral):
        if field_type is FieldType.NUMBER and _looks_numeric(value.value):
            return f"remove the quotes: {value.value}"
        if value.value in ("true", "false"):
            return f"remove the quotes: {value.value}"
        if field_type is FieldType.TIMESTAMP and _looks_like_timestamp(value.value):
            return f"remove the quotes: {value.value}"
    if isinstance(value, ast.NumberLiteral | ast.TimestampLiteral):
        if field_type is FieldType.STRING:
            return f'quote it: "{value.text}"'
    return f"write {_example(field_type)}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_timestamp(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", text) is not None


def _example(field_type: FieldType) -> str:
    return {
        FieldType.BOOL: "true or false",
        FieldType.NUMBER: "a number such as 5",
        FieldType.STRING: 'a quoted string such as "x"',
        FieldType.TIMESTAMP: "a timestamp such as 2027-01-01 or 2027-01-01T10:00:00Z",
    }[field_type]
