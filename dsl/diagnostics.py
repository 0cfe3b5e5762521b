"""Diagnostics: what the parser and checker report, and how it is rendered.

Every diagnostic carries a stable code (listed in ``dsl/DIAGNOSTICS.md``), a span and
the text of the offending line, so it can be rendered without the source at hand —
for example after travelling over gRPC.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "CODES",
    "RETIRED",
    "Diagnostic",
    "Severity",
    "SourceLines",
    "Span",
    "did_you_mean",
    "render_all",
]


@dataclass(frozen=True)
class Span:
    """A region of a rule file.

    Lines and columns are 1-based; ``end_column`` points one past the last character
    (as Lark reports it), so ``end_column - column`` is the width on a one-line span.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int


class Severity(enum.Enum):
    """How bad a diagnostic is; only errors stop a rule set from compiling."""

    ERROR = "error"
    WARNING = "warning"


# code -> short meaning. The checker and parser only use codes from this table; a test
# keeps it in step with dsl/DIAGNOSTICS.md and with the golden cases.
CODES: Mapping[str, str] = {
    "E101": "unexpected token",
    "E102": "unexpected character",
    "E103": "unexpected end of file",
    "E104": "invalid escape in string",
    "E105": "'=' where '==' was expected",
    "E106": "'on' missing after 'require' or 'penalty'",
    "E107": "badge slug is not a quoted string",
    "E108": "'&&', '||' or '!' instead of a keyword",
    "E109": "template id is not quoted",
    "E110": "'count' without 'of (on EVENT ...)'",
    "E111": "'between' instead of 'during'",
    "E112": "a condition nested too deeply",
    "E201": "unknown event alias",
    "E202": "event alias declared twice",
    "E203": "unknown field",
    "E204": "unknown event type",
    "E205": "duplicate badge slug",
    "E206": "duplicate name in a badge",
    "E207": "unknown requirement in 'resets'",
    "E208": "unknown template provider",
    "E209": "template bound by two badges",
    "E210": "unknown badge in 'has badge'",
    "E211": "evidence field in no requirement's event",
    "E212": "unknown time unit",
    "E213": "unknown issue method",
    "E214": "unknown evidence kind",
    "E301": "literal type does not match the field",
    "E302": "bool alias on a non-bool field",
    "E303": "bare field that is not bool",
    "E305": "unquoted word used as a value",
    "E306": "unknown field type",
    "E307": "field declared with two types",
    "E308": "ordering operator on a string or bool field",
    "E309": "text operator on a field that is not a string",
    "E310": "'ignoring case' on a field that is not a string",
    "E311": "list mixes types",
    "E312": "invalid regular expression",
    "E313": "invalid timestamp",
    "E314": "timestamp without a UTC offset",
    "E401": "badge without a template",
    "E402": "template given twice",
    "E403": "description given twice",
    "E404": "badge without requirements",
    "E405": "empty 'any' group",
    "E406": "'method' or 'expires' given twice",
    "E407": "count without '>='",
    "E408": "count, window or expiry not a whole number >= 1",
    "E409": "'within' on a requirement that is not a count or sequence",
    "E410": "empty 'during' range",
    "E411": "badge requires itself",
    "E412": "badge dependency cycle",
    "E413": "malformed evidence template",
    "E414": "evidence url not http(s)",
    "W401": "'repeatable' given twice",
    "W402": "'count >= 1', the same as a plain requirement",
}

# Codes no longer reported; never reused for another meaning.
RETIRED: Mapping[str, str] = {
    "E304": "comparison on timestamp not supported yet (timestamps compare since v2)",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a rule file.

    Example::

        >>> d = Diagnostic("E203", Severity.ERROR, "unknown field 'grade' in event 'quiz'",
        ...                Span("x.badge", 1, 22, 1, 27), "did you mean 'score'?",
        ...                'require on quiz where grade == 1')
        >>> print(d.render())
        x.badge:1:22: error[E203]: unknown field 'grade' in event 'quiz'
            require on quiz where grade == 1
                                  ^^^^^
          hint: did you mean 'score'?
    """

    code: str
    severity: Severity
    message: str
    span: Span
    hint: str | None = None
    source_line: str = ""

    def render(self) -> str:
        """Render as ``file:line:col: severity[code]: message``, the line, a caret, a hint."""
        span = self.span
        lines = [
            f"{span.file}:{span.line}:{span.column}: "
            f"{self.severity.value}[{self.code}]: {self.message}",
            f"    {self.source_line}",
            f"    {_caret_line(self.source_line, span)}",
        ]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.column, self.code)


def _caret_line(source_line: str, span: Span) -> str:
    # Keep tabs from the source so the caret lines up however the terminal expands them.
    start = max(span.column - 1, 0)
    prefix = "".join(ch if ch == "\t" else " " for ch in source_line[:start])
    prefix += " " * (start - len(source_line[:start]))
    if span.end_line == span.line:
        width = span.end_column - span.column
    else:
        width = len(source_line) - start
    return prefix + "^" * max(width, 1)


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    """Render several diagnostics separated by blank lines."""
    return "\n\n".join(d.render() for d in diagnostics)


class SourceLines:
    """The lines of every rule file, so diagnostics can quote the offending line."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._lines = {name: text.splitlines() for name, text in texts.items()}

    def line(self, file: str, line: int) -> str:
        lines = self._lines.get(file, [])
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def make(self, code: str, message: str, span: Span, hint: str | None = None) -> Diagnostic:
        """Build a diagnostic; the severity follows the code's letter (E/W)."""
        severity = Severity.WARNING if code.startswith("W") else Severity.ERROR
        return Diagnostic(code, severity, message, span, hint, self.line(span.file, span.line))


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint when a candidate is close enough, else None."""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
