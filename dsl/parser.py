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
        if (deepest := _too_deep(tree)) is not None:
            return ParseResult(None, _nesting_diagnostic(deepest, name, lines))
        return ParseResult(_ToAst(name).transform(tree), None)
    except VisitError as exc:
        problem = exc.orig_exc
        if not isinstance(problem, _SyntaxProblem):
            raise
        diagnostic = lines.make(problem.code, problem.message, problem.span, problem.hint)
        return ParseResult(None, diagnostic)
    except UnexpectedInput as exc:
        return ParseResult(None, _describe_syntax_error(exc, name, text, lines))


# ---- nesting -----------------------------------------------------------------------

#: Deepest parse tree accepted: every later stage (AST, checker, compiler, the generated
#: predicate) recurses once or more per level, so a deeper tree would exhaust Python's
#: stack. Each `and` / `or` / `not` adds a level; a real rule stays far below.
MAX_NESTING = 100


def _too_deep(tree: lark.Tree) -> lark.Tree | None:
    """The first subtree past `MAX_NESTING` levels, found without recursing."""
    stack: list[tuple[lark.Tree, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return node
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))
    return None


def _nesting_diagnostic(node: lark.Tree, name: str, lines: SourceLines) -> Diagnostic:
    meta = node.meta
    span = Span(name, meta.line, meta.column, meta.end_line, meta.end_column)
    return lines.make(
        "E112",
        f"this condition nests more than {MAX_NESTING} levels deep (each and, or, not adds one)",
        span,
        "split the condition: use `in [...]` for a list of values, or several requirements",
    )


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
    "E107-has": ['badge "b" { require has badge b }', 'badge "b" { require has badge 5 }'],
    "E110": [
        'badge "b" { require count >= 3 on e }',
        'badge "b" { require count >= 3 of on e }',
        'badge "b" { require count distinct x >= 3 on e }',
        'badge "b" { require count distinct x >= 3 of on e }',
        'badge "b" { require count 3 on e }',
        'badge "b" { require count distinct x 3 on e }',
    ],
    "E109": [
        'badge "b" { template credly 8f2b }',
        'badge "b" { template credly c1d2 }',
    ],
}

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "OP": "a comparison ('==', '!=', '<', '<=', '>', '>=')",
    "TIMESTAMP": "a timestamp such as 2027-02-01",
    "REGEX": "a /regular expression/",
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
    if token.type == "NAME" and str(token) == "between":
        return lines.make(
            "E111",
            "'between' is not a keyword",
            span,
            "for the event's time write 'during 2027-02-01 .. 2027-03-01' (end excluded);"
            " for a field write 'x >= 1 and x <= 5'",
        )
    if label == "E110":
        return lines.make(
            "E110",
            f"expected 'of (on EVENT ...)' after the count, found {_describe_token(token)}",
            span,
            "write: require count >= 3 of (on quiz_graded where passed)",
        )
    if label == "E107-has" and token.type in ("NAME", "NUMBER"):
        return lines.make(
            "E107",
            "a badge slug must be a quoted string",
            span,
            f'write has badge "{token}"',
        )
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
            "&": "write 'and' instead of '&&'",
            "|": "write 'or' instead of '||'",
            "!": "write 'not' (or '!=' to compare)",
        }[char]
        return lines.make("E108", f"unexpected '{char}'", span, hint)
    if char == '"':
        return lines.make(
            "E102", "unterminated string", span, "close the string with '\"' on the same line"
        )
    if char == "/":
        return lines.make(
            "E102",
            "unterminated regular expression",
            span,
            "close it with '/' on the same line (write \\/ for a slash inside)",
        )
    return lines.make("E102", f"unexpected character {char!r}", span, None)


# Long lists of keywords are summed up, so the hint stays readable.
_KEYWORD_GROUPS = (
    (
        "an operator (==, <, in, contains, starts with, ends with, matches, exists...)",
        {"'in'", "'not'", "'contains'", "'starts'", "'ends'", "'matches'", "'exists'"}
        | {_TERMINAL_NAMES["OP"]},
    ),
    (
        "a statement (require, any, penalty, template, description...)",
        {"'require'", "'any'", "'penalty'", "'template'", "'description'", "'repeatable'"}
        | {"'method'", "'expires'", "'evidence'"},
    ),
)


def _expected(terminals: set[str]) -> str:
    rendered = {_terminal_name(t) for t in terminals}
    for summary, group in _KEYWORD_GROUPS:
        if len(rendered & group) >= 3:
            rendered = (rendered - group) | {summary}
    names = sorted(rendered)
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
        label = children[0] if isinstance(children[0], ast.Ident) else None
        window = children[-1] if isinstance(children[-1], ast.Window) else None
        criterion = children[1 if label else 0]
        return ast.Requirement(label, criterion, _meta_span(self._file, meta), window)

    @_with_meta
    def window(self, meta, children: list) -> ast.Window:
        amount, unit = children
        return ast.Window(self._number(amount), self._ident(unit), _meta_span(self._file, meta))

    @_with_meta
    def sequence(self, meta, children: list) -> ast.InOrder:
        return ast.InOrder(tuple(children), _meta_span(self._file, meta))

    @_with_meta
    def count(self, meta, children: list) -> ast.Count:
        distinct = next((c for c in children if isinstance(c, ast.Path)), None)
        op = next((str(c) for c in children if isinstance(c, Token) and c.type == "OP"), None)
        number = next(c for c in children if isinstance(c, Token) and c.type == "NUMBER")
        match = children[-1]
        span = _meta_span(self._file, meta)
        return ast.Count(op, self._number(number), distinct, match, span)

    def distinct(self, children: list) -> ast.Path:
        return children[0]

    @_with_meta
    def has_badge(self, meta, children: list) -> ast.HasBadge:
        slug = children[0]
        return ast.HasBadge(self._string(slug), self._span(slug), _meta_span(self._file, meta))

    @_with_meta
    def method_stmt(self, meta, children: list) -> ast.Method:
        return ast.Method(self._ident(children[0]), _meta_span(self._file, meta))

    @_with_meta
    def expires_after(self, meta, children: list) -> ast.ExpiresAfter:
        amount, unit = children
        span = _meta_span(self._file, meta)
        return ast.ExpiresAfter(self._number(amount), self._ident(unit), span)

    @_with_meta
    def expires_on(self, meta, children: list) -> ast.ExpiresOn:
        return ast.ExpiresOn(self._timestamp(children[0]), _meta_span(self._file, meta))

    @_with_meta
    def evidence_stmt(self, meta, children: list) -> ast.Evidence:
        kind, name, template = children
        return ast.Evidence(
            self._ident(kind),
            ast.StringLiteral(self._string(name), self._span(name)),
            ast.StringLiteral(self._string(template), self._span(template)),
            _meta_span(self._file, meta),
        )

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
        conditions = next((c for c in rest if isinstance(c, tuple)), ())
        during = next((c for c in rest if isinstance(c, ast.During)), None)
        return ast.Match(ref, conditions, _meta_span(self._file, meta), during)

    def where_clause(self, children: list) -> tuple[ast.Condition, ...]:
        [condition] = children
        return condition.operands if isinstance(condition, ast.AllOf) else (condition,)

    @_with_meta
    def during(self, meta, children: list) -> ast.During:
        start, end = (self._timestamp(t) for t in children)
        return ast.During(start, end, _meta_span(self._file, meta))

    @_with_meta
    def any_of(self, meta, children: list) -> ast.AnyOf:
        return ast.AnyOf(_flatten(children, ast.AnyOf), _meta_span(self._file, meta))

    @_with_meta
    def all_of(self, meta, children: list) -> ast.AllOf:
        return ast.AllOf(_flatten(children, ast.AllOf), _meta_span(self._file, meta))

    @_with_meta
    def negation(self, meta, children: list) -> ast.Not:
        return ast.Not(children[0], _meta_span(self._file, meta))

    @_with_meta
    def comparison(self, meta, children: list) -> ast.Comparison:
        path, op, value, *case = children
        span = _meta_span(self._file, meta)
        return ast.Comparison(path, str(op), self._literal(value), span, bool(case))

    @_with_meta
    def in_list(self, meta, children: list) -> ast.Membership:
        return self._membership(meta, children, negated=False)

    @_with_meta
    def not_in_list(self, meta, children: list) -> ast.Membership:
        return self._membership(meta, children, negated=True)

    def _membership(self, meta, children: list, negated: bool) -> ast.Membership:
        path, values, *case = children
        span = _meta_span(self._file, meta)
        return ast.Membership(path, negated, values, span, bool(case))

    def list(self, children: list) -> tuple[ast.Literal, ...]:
        return tuple(self._literal(c) for c in children)

    def case(self, children: list) -> bool:
        return True

    @_with_meta
    def text_test(self, meta, children: list) -> ast.TextTest:
        return self._text_test(meta, children, negated=False)

    @_with_meta
    def not_text_test(self, meta, children: list) -> ast.TextTest:
        return self._text_test(meta, children, negated=True)

    def _text_test(self, meta, children: list, negated: bool) -> ast.TextTest:
        path, op, value, *case = children
        literal = ast.StringLiteral(self._string(value), self._span(value))
        span = _meta_span(self._file, meta)
        return ast.TextTest(path, op, negated, literal, span, bool(case))

    def starts_with(self, children: list) -> str:
        return "starts with"

    def ends_with(self, children: list) -> str:
        return "ends with"

    def contains(self, children: list) -> str:
        return "contains"

    @_with_meta
    def regex_test(self, meta, children: list) -> ast.RegexTest:
        return self._regex_test(meta, children, negated=False)

    @_with_meta
    def not_regex_test(self, meta, children: list) -> ast.RegexTest:
        return self._regex_test(meta, children, negated=True)

    def _regex_test(self, meta, children: list, negated: bool) -> ast.RegexTest:
        path, token, *case = children
        span = _meta_span(self._file, meta)
        return ast.RegexTest(path, negated, self._regex(token), span, bool(case))

    def _regex(self, token: Token) -> ast.RegexLiteral:
        span = self._span(token)
        if token.type == "STRING":
            pattern, columns = _decode(str(token)[1:-1], span)
        else:
            pattern, columns = _decode_regex(str(token)[1:-1], span.column + 1)
        return ast.RegexLiteral(pattern, columns, span)

    @_with_meta
    def exists(self, meta, children: list) -> ast.Exists:
        return ast.Exists(children[0], False, _meta_span(self._file, meta))

    @_with_meta
    def not_exists(self, meta, children: list) -> ast.Exists:
        return ast.Exists(children[0], True, _meta_span(self._file, meta))

    @_with_meta
    def truthy(self, meta, children: list) -> ast.Truthy:
        return ast.Truthy(children[0], _meta_span(self._file, meta))

    @_with_meta
    def path(self, meta, children: list) -> ast.Path:
        return ast.Path(tuple(str(t) for t in children), _meta_span(self._file, meta))

    def _number(self, token: Token) -> ast.NumberLiteral:
        return ast.NumberLiteral(_number(str(token)), str(token), self._span(token))

    def _timestamp(self, token: Token) -> ast.TimestampLiteral:
        return ast.TimestampLiteral(str(token), self._span(token))

    def _literal(self, token: Token) -> ast.Literal:
        span = self._span(token)
        text = str(token)
        if token.type == "STRING":
            return ast.StringLiteral(self._string(token), span)
        if token.type == "NUMBER":
            return ast.NumberLiteral(_number(text), text, span)
        if token.type == "TIMESTAMP":
            return ast.TimestampLiteral(text, span)
        if text in _BOOL_WORDS:
            return ast.BoolLiteral(_BOOL_WORDS[text], text, span)
        return ast.BareWord(text, span)


def _flatten(children: list, kind: type) -> tuple[ast.Condition, ...]:
    """``a and (b and c)`` -> (a, b, c): grouping does not change a conjunction."""
    operands: list[ast.Condition] = []
    for child in children:
        operands.extend(child.operands if isinstance(child, kind) else (child,))
    return tuple(operands)


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _unescape(body: str, span: Span) -> str:
    """Decode JSON-style escapes; an unknown escape is a syntax error pointing at it."""
    return _decode(body, span)[0]


def _decode(body: str, span: Span) -> tuple[str, tuple[int, ...]]:
    """Decode a string body; also returns the source column of each decoded character."""
    text: list[str] = []
    columns: list[int] = []
    position = 0
    first = span.column + 1  # after the opening quote
    for match in _ESCAPE_RE.finditer(body):
        for offset in range(position, match.start()):
            text.append(body[offset])
            columns.append(first + offset)
        text.append(_escape_value(match, first, span))
        columns.append(first + match.start())
        position = match.end()
    for offset in range(position, len(body)):
        text.append(body[offset])
        columns.append(first + offset)
    return "".join(text), tuple(columns)


def _escape_value(match: re.Match[str], first: int, span: Span) -> str:
    escape = match.group(1)
    if escape in _ESCAPES:
        return _ESCAPES[escape]
    if len(escape) == 5:
        return chr(int(escape[1:], 16))
    column = first + match.start()
    where = Span(span.file, span.line, column, span.line, column + 2)
    raise _SyntaxProblem(
        "E104",
        f"invalid escape '\\{escape}' in string",
        where,
        'valid escapes are \\" \\\\ \\/ \\n \\t \\r \\uXXXX',
    )


def _decode_regex(body: str, first: int) -> tuple[str, tuple[int, ...]]:
    """``/a\\/b/``: only ``\\/`` is decoded (to ``/``); other escapes belong to the regex."""
    text: list[str] = []
    columns: list[int] = []
    offset = 0
    while offset < len(body):
        pair = body[offset : offset + 2] if body[offset] == "\\" else body[offset]
        decoded = "/" if pair == "\\/" else pair
        text.append(decoded)
        columns.extend(first + offset + i for i in range(len(decoded)))
        offset += len(pair)
    return "".join(text), tuple(columns)
