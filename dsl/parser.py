"""Lark facade: rule text -> ``RuleFile`` AST, or the first syntax error as a Diagnostic.

Parsing stops at the first syntax error (LALR cannot recover reliably); the message
names the mistake when it is a common one (``=`` for ``==``, a missing ``on``...),
found with Lark's ``match_examples``, and otherwise lists what was expected.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from dsl import ast
from dsl.diagnostics import Diagnostic, SourceLines, Span

__all__ = ["ParseResult", "parse"]

_BOOL_WORDS = {
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "yes": True,
    "no": False,
    "Yes": True,
    "No": False,
    "+": True,
    "-": False,
}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


@dataclass(frozen=True)
class ParseResult:
    """Either a tree or the one syntax error that stopped the parser."""

    tree: ast.RuleFile | None
    diagnostic: Diagnostic | None


class _SyntaxProblem(Exception):
    """Raised inside the transformer; arrives wrapped in VisitError and is unwrapped."""

    def __init__(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.span, self.hint = code, message, span, hint


@functools.cache
def _lark() -> lark.Lark:
    # Built lazily on first use, not at import; the LALR tables cost ~20 ms to build and
    # a Lark LALR parser keeps no state between parse() calls, so one is shared.
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse(name: str, text: str) -> ParseResult:
    """Parse one rule file. Never raises for bad input."""
    lines = SourceLines({name: text})
    try:
        tree = _lark().parse(text)
        return ParseResult(_ToAst(name).transform(tree), None)
    except VisitError as exc:
        problem = exc.orig_exc
        if not isinstance(problem, _SyntaxProblem):
            raise
        diagnostic = lines.make(problem.code, problem.message, problem.span, problem.hint)
        return ParseResult(None, diagnostic)
    except UnexpectedInput as exc:
        return ParseResult(None, _describe_syntax_error(exc, name, text, lines))


# ---- syntax errors -----------------------------------------------------------------

# Common mistakes, recognised by the parser state they fail in (see _example_states).
_EXAMPLES: dict[str, list[str]] = {
    "E105": [
        'badge "b" { require on e where x = 1 }',
        'badge "b" { require on e where x == 1 and y = 1 }',
        'badge "b" { penalty on e where x = 1 resets all }',
        'badge "b" { require on e where x.y = 1 }',
        'badge "b" { require on e where x == 1 and y.z = 1 }',
        'badge "b" { penalty on e where x.y = 1 resets all }',
    ],
    "E106": [
        'badge "b" { require e where x }',
        'badge "b" { require e }',
        'badge "b" { require l: e where x }',
        'badge "b" { penalty e where x resets all }',
        'badge "b" { penalty l: e resets all }',
        'badge "b" { any { require e } }',
    ],
    "E107": ["badge b { }"],
    "E109": [
        'badge "b" { template credly 8f2b }',
        'badge "b" { template credly c1d2 }',
    ],
}

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "OP": "'==' or '!='",
    "RESET_ALL": "'all'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "$END": "end of file",
}


def _describe_syntax_error(
    exc: UnexpectedInput, name: str, text: str, lines: SourceLines
) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_character(exc, name, text, lines)
    assert isinstance(exc, UnexpectedToken)
    if exc.token.type == "$END":
        return lines.make(
            "E103",
            "unexpected end of file",
            _end_span(name, text),
            "is a closing '}' missing?"
            if "RBRACE" in exc.expected
            else f"expected {_expected(exc.expected)}",
        )
    span = _token_span(name, exc.token)
    known = _known_mistake(exc, lines, span)
    if known is not None:
        return known
    # `accepts` replays the parser on the real stack, so it is exact where the LALR
    # lookahead set (`expected`) also lists tokens from merged states.
    expected = exc.accepts or exc.expected
    return lines.make(
        "E101", f"unexpected {_describe_token(exc.token)}", span, f"expected {_expected(expected)}"
    )


def _known_mistake(exc: UnexpectedToken, lines: SourceLines, span: Span) -> Diagnostic | None:
    label = _example_states().get(_state_of(exc))
    token = exc.token
    if label == "E105" and token == "=":
        return lines.make("E105", "'=' is not a comparison", span, "use '==' to compare values")
    if label == "E106" and ({"ON", "COLON"} & set(exc.expected)):
        return lines.make(
            "E106",
            f"expected 'on' before the event, found {_describe_token(token)}",
            span,
            "write 'require [label:] on EVENT where ...'",
        )
    if label == "E109" and token.type in ("NAME", "MINUS"):
        return lines.make(
            "E109",
            "a template id must be a quoted string or a whole number",
            span,
            'quote it: template credly "8f2b7c1e-..."',
        )
    if label == "E107" and token.type == "NAME":
        return lines.make(
            "E107",
            "a badge slug must be a quoted string",
            span,
            f'write badge "{_slug_guess(lines, span)}" {{ ... }}',
        )
    return None


@functools.cache
def _example_states() -> dict[int, str]:
    """LALR state -> code of the known mistake whose examples fail in that state.

    Like Lark's ``match_examples``, but keyed on the state number alone: Lark's version
    also compares stack depth, so ``x = 1`` would need an example per nesting level.
    """
    states: dict[int, str] = {}
    for code, examples in _EXAMPLES.items():
        for example in examples:
            try:
                _lark().parse(example)
            except UnexpectedToken as exc:
                states.setdefault(_state_of(exc), code)
    return states


def _state_of(exc: UnexpectedToken) -> int:
    state = exc.state
    return state.position if hasattr(state, "position") else state


def _slug_guess(lines: SourceLines, span: Span) -> str:
    rest = lines.line(span.file, span.line)[span.column - 1 :]
    return rest.split("{", 1)[0].strip()


def _unexpected_character(
    exc: UnexpectedCharacters, name: str, text: str, lines: SourceLines
) -> Diagnostic:
    span = Span(name, exc.line, exc.column, exc.line, exc.column + 1)
    char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
    if char in "&|!":
        hint = {
            "&": "join data rules with 'and'",
            "|": "'or' is not supported yet; use an 'any { ... }' group",
            "!": "'not' is not supported yet; compare with '== false' or '!='",
        }[char]
        return lines.make("E108", f"unexpected '{char}'", span, hint)
    if char == '"':
        return lines.make(
            "E102", "unterminated string", span, "close the string with '\"' on the same line"
        )
    return lines.make("E102", f"unexpected character {char!r}", span, None)


def _expected(terminals: set[str]) -> str:
    names = sorted({_terminal_name(t) for t in terminals})
    if len(names) == 1:
        return names[0]
    return "one of " + ", ".join(names)


@functools.cache
def _terminal_name(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    for definition in _lark().terminals:
        if definition.name == terminal:
            return f"'{definition.pattern.value}'"
    return terminal


def _describe_token(token: Token) -> str:
    if token.type == "NAME":
        return f"name '{token}'"
    if token.type == "STRING":
        return f"string {token}"
    if token.type == "NUMBER":
        return f"number {token}"
    if token.type.isalpha() and str(token).isalpha():
        return f"keyword '{token}'"
    return f"'{token}'"


def _end_span(name: str, text: str) -> Span:
    lines = text.splitlines() or [""]
    line = len(lines)
    column = len(lines[-1]) + 1
    return Span(name, line, column, line, column + 1)


def _token_span(name: str, token: Token) -> Span:
    return Span(name, token.line, token.column, token.end_line, token.end_column)


# ---- tree -> AST ---------------------------------------------------------------------


def _meta_span(name: str, meta: lark.tree.Meta) -> Span:
    return Span(name, meta.line, meta.column, meta.end_line, meta.end_column)


def _with_meta(method: Callable) -> Callable:
    return v_args(meta=True)(method)


class _ToAst(Transformer):
    """Builds the AST; one instance per file so spans carry the file name."""

    def __init__(self, file_name: str) -> None:
        super().__init__()
        self._file = file_name

    def _span(self, token: Token) -> Span:
        return _token_span(self._file, token)

    def _ident(self, token: Token) -> ast.Ident:
        return ast.Ident(str(token), self._span(token))

    def _string(self, token: Token) -> str:
        return _unescape(str(token)[1:-1], self._span(token))

    # -- file and events

    def start(self, items: list) -> ast.RuleFile:
        events = tuple(i for i in items if isinstance(i, ast.EventDecl))
        badges = tuple(i for i in items if isinstance(i, ast.Badge))
        return ast.RuleFile(self._file, events, badges)

    @_with_meta
    def event_decl(self, meta, children: list) -> ast.EventDecl:
        alias, type_token, *rest = children
        fields = rest[0] if rest else None
        return ast.EventDecl(
            self._ident(alias),
            self._string(type_token),
            self._span(type_token),
            fields,
            _meta_span(self._file, meta),
        )

    def field_block(self, children: list) -> tuple[ast.FieldDecl, ...]:
        return tuple(children)

    @_with_meta
    def field_decl(self, meta, children: list) -> ast.FieldDecl:
        path, type_name = children
        return ast.FieldDecl(path, self._ident(type_name), _meta_span(self._file, meta))

    # -- badges

    @_with_meta
    def badge(self, meta, children: list) -> ast.Badge:
        slug, *statements = children
        return ast.Badge(
            self._string(slug), self._span(slug), tuple(statements), _meta_span(self._file, meta)
        )

    @_with_meta
    def template_stmt(self, meta, children: list) -> ast.Template:
        provider, external = children
        value = self._string(external) if external.type == "STRING" else str(external)
        return ast.Template(self._ident(provider), value, _meta_span(self._file, meta))

    @_with_meta
    def description_stmt(self, meta, children: list) -> ast.Description:
        return ast.Description(self._string(children[0]), _meta_span(self._file, meta))

    @_with_meta
    def repeatable_stmt(self, meta, children: list) -> ast.Repeatable:
        return ast.Repeatable(_meta_span(self._file, meta))

    def label(self, children: list) -> ast.Ident:
        return self._ident(children[0])

    @_with_meta
    def require_stmt(self, meta, children: list) -> ast.Requirement:
        label = children[0] if len(children) == 2 else None
        return ast.Requirement(label, children[-1], _meta_span(self._file, meta))

    @_with_meta
    def any_group(self, meta, children: list) -> ast.AnyGroup:
        label = self._ident(children[0]) if children and isinstance(children[0], Token) else None
        members = tuple(c for c in children if isinstance(c, ast.Requirement))
        return ast.AnyGroup(label, members, _meta_span(self._file, meta))

    @_with_meta
    def penalty_stmt(self, meta, children: list) -> ast.Penalty:
        label = children[0] if len(children) == 3 else None
        match, (resets_all, resets) = children[-2], children[-1]
        return ast.Penalty(label, match, resets_all, resets, _meta_span(self._file, meta))

    def reset_all(self, children: list) -> tuple[bool, tuple[ast.Ident, ...]]:
        return True, ()

    def reset_names(self, children: list) -> tuple[bool, tuple[ast.Ident, ...]]:
        return False, tuple(self._ident(t) for t in children)

    # -- matching

    @_with_meta
    def match(self, meta, children: list) -> ast.Match:
        event, *rest = children
        quoted = event.type == "STRING"
        text = self._string(event) if quoted else str(event)
        ref = ast.EventRef(text, quoted, self._span(event))
        conditions = rest[0] if rest else ()
        return ast.Match(ref, conditions, _meta_span(self._file, meta))

    def where_clause(self, children: list) -> tuple[ast.Condition, ...]:
        return tuple(children)

    @_with_meta
    def comparison(self, meta, children: list) -> ast.Comparison:
        path, op, value = children
        return ast.Comparison(path, str(op), self._literal(value), _meta_span(self._file, meta))

    @_with_meta
    def truthy(self, meta, children: list) -> ast.Truthy:
        return ast.Truthy(children[0], _meta_span(self._file, meta))

    @_with_meta
    def path(self, meta, children: list) -> ast.Path:
        return ast.Path(tuple(str(t) for t in children), _meta_span(self._file, meta))

    def _literal(self, token: Token) -> ast.Literal:
        span = self._span(token)
        text = str(token)
        if token.type == "STRING":
            return ast.StringLiteral(self._string(token), span)
        if token.type == "NUMBER":
            return ast.NumberLiteral(_number(text), text, span)
        if text in _BOOL_WORDS:
            return ast.BoolLiteral(_BOOL_WORDS[text], text, span)
        return ast.BareWord(text, span)


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _unescape(body: str, span: Span) -> str:
    """Decode JSON-style escapes; an unknown escape is a syntax error pointing at it."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        if len(escape) == 5:
            return chr(int(escape[1:], 16))
        column = span.column + 1 + match.start()
        where = Span(span.file, span.line, column, span.line, column + 2)
        raise _SyntaxProblem(
            "E104",
            f"invalid escape '\\{escape}' in string",
            where,
            'valid escapes are \\" \\\\ \\/ \\n \\t \\r \\uXXXX',
        )

    return _ESCAPE_RE.sub(replace, body)
