"""Evidence templates: ``"https://lms.example.com/courses/{course.course_key}"``.

A template is text with ``{key.path}`` fields (``{{`` and ``}}`` stand for braces). It
renders against the payload of the event that fulfilled a requirement: strings as they
are, numbers as written in JSON (``5.0`` as ``5``), bools as ``true``/``false``. When a
field is missing, null, or an object or a list, the item is left out (``None``); a
``url`` item is also left out when the result is not an http(s) URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dsl.criteria import MISSING, lookup

__all__ = [
    "EVIDENCE_KINDS",
    "TemplateProblem",
    "compile_template",
    "field_paths",
    "parse_template",
]

EVIDENCE_KINDS = ("id", "text", "url")
URL_PREFIXES = ("http://", "https://")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

Part = str | tuple[str, ...]


@dataclass(frozen=True)
class Field:
    """One ``{path}`` in a template, with its offset in the template text."""

    path: tuple[str, ...]
    offset: int
    length: int


class TemplateProblem(ValueError):
    """A malformed template; ``offset`` is where in the template text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


def parse_template(text: str) -> tuple[tuple[Part, ...], tuple[Field, ...]]:
    """Split a template into literal text and key paths; raises ``TemplateProblem``."""
    parts: list[Part] = []
    fields: list[Field] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "{}" and text.startswith(char * 2, index):
            literal.append(char)
            index += 2
        elif char == "}":
            raise TemplateProblem("'}' without '{' (write '}}' for a brace)", index)
        elif char == "{":
            end = text.find("}", index)
            body = text[index + 1 : end] if end >= 0 else ""
            if end < 0 or not _PATH.fullmatch(body):
                raise TemplateProblem(_field_problem(end, body), index)
            if literal:
                parts.append("".join(literal))
                literal = []
            path = tuple(body.split("."))
            parts.append(path)
            fields.append(Field(path, index, end + 1 - index))
            index = end + 1
        else:
            literal.append(char)
            index += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts), tuple(fields)


def _field_problem(end: int, body: str) -> str:
    if end < 0:
        return "'{' without '}' (write '{{' for a brace)"
    return f"'{{{body}}}' is not a key path like {{course.course_key}}"


def field_paths(text: str) -> tuple[Field, ...]:
    return parse_template(text)[1]


def compile_template(text: str, url: bool = False) -> Callable[[Mapping[str, Any]], str | None]:
    """The ``render(payload)`` function of a checked template."""
    parts, _ = parse_template(text)

    def render(payload: Mapping[str, Any]) -> str | None:
        pieces = []
        for part in parts:
            if part.__class__ is str:
                pieces.append(part)
                continue
            value = _as_text(lookup(payload, part))  # type: ignore[arg-type]
            if value is None:
                return None
            pieces.append(value)
        result = "".join(pieces)
        if url and not result.startswith(URL_PREFIXES):
            return None
        return result

    return render


def _as_text(value: Any) -> str | None:
    if value is MISSING or value is None:
        return None
    if value is True or value is False:
        return "true" if value else "false"
    if value.__class__ is str:
        return value
    if value.__class__ is int:
        return str(value)
    if value.__class__ is float:
        return str(int(value)) if value.is_integer() else repr(value)
    return None
