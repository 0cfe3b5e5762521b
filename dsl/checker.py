"""Semantic checks over parsed rule files; collects every problem instead of stopping.

The checker also produces the ``Environment`` (aliases per file, field types per event
type) that the compiler uses, so name resolution is written once.

Scoping: event aliases belong to the file that declares them (plus the built-in default
aliases, usable everywhere); field declarations extend the event type's schema for
every file, because an event type is global; badge slugs and templates are global.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dsl import ast
from dsl.diagnostics import Diagnostic, SourceLines, Span, did_you_mean
from dsl.naming import layout_badge
from dsl.schemas import BUILTIN_ALIASES, BUILTIN_EVENT_TYPES, FieldType

__all__ = ["PROVIDERS", "Environment", "check_files"]

PROVIDERS = ("accredible", "credly")
_TYPE_NAMES = {t.value: t for t in FieldType}
_LITERAL_TYPES = {
    ast.StringLiteral: FieldType.STRING,
    ast.NumberLiteral: FieldType.NUMBER,
    ast.BoolLiteral: FieldType.BOOL,
}


@dataclass(frozen=True)
class Environment:
    """Resolved names: ``aliases[file][alias] -> type``, ``schemas[type][path] -> type``."""

    aliases: Mapping[str, Mapping[str, str]]
    schemas: Mapping[str, Mapping[str, FieldType]]

    def event_type(self, file: str, ref: ast.EventRef) -> str | None:
        if ref.quoted:
            return ref.text
        return self.aliases.get(file, {}).get(ref.text, BUILTIN_ALIASES.get(ref.text))

    def field_type(self, event_type: str, path: ast.Path) -> FieldType | None:
        return self.schemas.get(event_type, {}).get(path.dotted)


def check_files(
    files: Sequence[ast.RuleFile], lines: SourceLines
) -> tuple[list[Diagnostic], Environment]:
    """Check all files together; returns every diagnostic (unsorted) and the environment."""
    checker = _Checker(lines)
    environment = checker.build_environment(files)
    for rule_file in files:
        for badge in rule_file.badges:
            checker.check_badge(badge, environment)
    return checker.diagnostics, environment


class _Checker:
    def __init__(self, lines: SourceLines) -> None:
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []
        self._slugs: dict[str, Span] = {}
        self._templates: dict[str, tuple[str, Span]] = {}
        self._field_spans: dict[tuple[str, str], Span] = {}

    def report(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(self.lines.make(code, message, span, hint))

    # ---- events --------------------------------------------------------------------

    def build_environment(self, files: Sequence[ast.RuleFile]) -> Environment:
        schemas = {t: dict(s.fields) for t, s in BUILTIN_EVENT_TYPES.items()}
        for rule_file in files:
            for decl in rule_file.events:
                if decl.fields is not None:
                    self._declare_fields(schemas.setdefault(decl.event_type, {}), decl)
        aliases = {f.name: self._collect_aliases(f, schemas) for f in files}
        return Environment(aliases, schemas)

    def _declare_fields(self, schema: dict[str, FieldType], decl: ast.EventDecl) -> None:
        for field in decl.fields or ():
            field_type = _TYPE_NAMES.get(field.type_name.name)
            if field_type is None:
                self.report(
                    "E306",
                    f"unknown field type '{field.type_name.name}'",
                    field.type_name.span,
                    did_you_mean(field.type_name.name, _TYPE_NAMES)
                    or "field types are bool, number, string, timestamp",
                )
                continue
            self._add_field(schema, decl.event_type, field, field_type)

    def _add_field(
        self, schema: dict[str, FieldType], event_type: str, field: ast.FieldDecl, new: FieldType
    ) -> None:
        path = field.path.dotted
        old = schema.get(path)
        if old is not None and old != new:
            first = self._field_spans.get((event_type, path))
            where = f"at {_where(first)}" if first else "by the built-in schema"
            self.report(
                "E307",
                f"field '{path}' of '{event_type}' is already declared as {old.value}",
                field.span,
                f"it is declared {where}; use one type",
            )
            return
        schema[path] = new
        self._field_spans.setdefault((event_type, path), field.span)

    def _collect_aliases(
        self, rule_file: ast.RuleFile, schemas: Mapping[str, Mapping[str, FieldType]]
    ) -> dict[str, str]:
        aliases: dict[str, str] = {}
        first_spans: dict[str, Span] = {}
        for decl in rule_file.events:
            name = decl.alias.name
            if name in aliases:
                self.report(
                    "E202",
                    f"event alias '{name}' is declared twice",
                    decl.alias.span,
                    f"first declared at {_where(first_spans[name])}",
                )
                continue
            aliases[name], first_spans[name] = decl.event_type, decl.alias.span
            if decl.event_type not in schemas:
                self._unknown_type(decl.event_type, decl.type_span, name)
        return aliases

    def _unknown_type(self, event_type: str, span: Span, alias: str = "my_event") -> None:
        self.report(
            "E204",
            f"unknown event type '{event_type}'",
            span,
            f'declare its fields: event {alias} = "{event_type}" {{ some.path: string }}',
        )

    # ---- badges --------------------------------------------------------------------

    def check_badge(self, badge: ast.Badge, env: Environment) -> None:
        self._check_slug(badge)
        self._check_single_lines(badge)
        layout = layout_badge(badge)
        if not layout.requirement_names():
            self.report(
                "E404",
                f"badge '{badge.slug}' has no requirement",
                badge.slug_span,
                "add at least one 'require on EVENT ...' line",
            )
        for group in layout.groups:
            if not group.members:
                self.report("E405", "'any' group has no requirement", group.span, None)
        self._check_unique_labels(badge)
        names = layout.requirement_names()
        for _, requirement in (m for g in layout.groups for m in g.members):
            self._check_match(requirement.match, env)
        for _, penalty in layout.penalties:
            self._check_match(penalty.match, env)
            self._check_resets(penalty, names)

    def _check_slug(self, badge: ast.Badge) -> None:
        first = self._slugs.get(badge.slug)
        if first is not None:
            self.report(
                "E205",
                f"badge '{badge.slug}' is defined twice",
                badge.slug_span,
                f"first defined at {_where(first)}; slugs must be unique across all files",
            )
        else:
            self._slugs[badge.slug] = badge.slug_span

    def _check_single_lines(self, badge: ast.Badge) -> None:
        templates = [s for s in badge.statements if isinstance(s, ast.Template)]
        descriptions = [s for s in badge.statements if isinstance(s, ast.Description)]
        repeatables = [s for s in badge.statements if isinstance(s, ast.Repeatable)]
        if not templates:
            self.report(
                "E401",
                f"badge '{badge.slug}' has no template",
                badge.slug_span,
                'add a line like: template credly "<template id>"',
            )
        for extra in templates[1:]:
            self.report("E402", "template given twice", extra.span, "a badge has one template")
        for extra in descriptions[1:]:
            self.report("E403", "description given twice", extra.span, "keep one description")
        for extra in repeatables[1:]:
            self.report("W401", "'repeatable' given twice", extra.span, "remove this line")
        if templates:
            self._check_template(badge, templates[0])

    def _check_template(self, badge: ast.Badge, template: ast.Template) -> None:
        provider = template.provider
        if provider.name not in PROVIDERS:
            self.report(
                "E208",
                f"unknown template provider '{provider.name}'",
                provider.span,
                did_you_mean(provider.name, PROVIDERS) or "providers are: accredible, credly",
            )
            return
        key = f"{provider.name}:{template.external_id}"
        first = self._templates.get(key)
        if first is not None:
            self.report(
                "E209",
                f"template {key} is already used by badge '{first[0]}'",
                template.span,
                f"first bound at {_where(first[1])}; a template belongs to one badge",
            )
        else:
            self._templates[key] = (badge.slug, template.span)

    def _check_unique_labels(self, badge: ast.Badge) -> None:
        requirements = [s for s in _requirements(badge.statements)]
        groups = [s for s in badge.statements if isinstance(s, ast.AnyGroup)]
        penalties = [s for s in badge.statements if isinstance(s, ast.Penalty)]
        self._report_duplicates("requirement", [r.label for r in requirements])
        self._report_duplicates("group", [g.label for g in groups])
        self._report_duplicates("penalty", [p.label for p in penalties])

    def _report_duplicates(self, kind: str, labels: Iterable[ast.Ident | None]) -> None:
        seen: dict[str, Span] = {}
        for label in labels:
            if label is None:
                continue
            if label.name in seen:
                self.report(
                    "E206",
                    f"duplicate {kind} name '{label.name}'",
                    label.span,
                    f"first used at {_where(seen[label.name])}",
                )
            else:
                seen[label.name] = label.span

    def _check_resets(self, penalty: ast.Penalty, names: Sequence[str]) -> None:
        for target in penalty.resets:
            if target.name not in names:
                self.report(
                    "E207",
                    f"'resets' names unknown requirement '{target.name}'",
                    target.span,
                    did_you_mean(target.name, names)
                    or f"requirements of this badge: {', '.join(dict.fromkeys(names)) or '(none)'}",
                )

    # ---- conditions ----------------------------------------------------------------

    def _check_match(self, match: ast.Match, env: Environment) -> None:
        event_type = self._resolve_event(match.event, env)
        if event_type is None:
            return
        fields = env.schemas[event_type]
        for condition in match.conditions:
            field_type = self._check_path(condition.path, fields, match.event.text)
            if field_type is None:
                continue
            if isinstance(condition, ast.Truthy):
                self._check_truthy(condition, field_type)
            else:
                self._check_comparison(condition, field_type)

    def _resolve_event(self, ref: ast.EventRef, env: Environment) -> str | None:
        event_type = env.event_type(ref.span.file, ref)
        if event_type is None:
            known = {**BUILTIN_ALIASES, **env.aliases.get(ref.span.file, {})}
            self.report(
                "E201",
                f"unknown event '{ref.text}'",
                ref.span,
                did_you_mean(ref.text, known)
                or f'declare it: event {ref.text} = "<full event type>"',
            )
            return None
        if event_type not in env.schemas:
            # An alias to an unknown type was already reported at its declaration.
            if ref.quoted:
                self._unknown_type(event_type, ref.span)
            return None
        return event_type

    def _check_path(
        self, path: ast.Path, fields: Mapping[str, FieldType], event_name: str
    ) -> FieldType | None:
        field_type = fields.get(path.dotted)
        if field_type is not None:
            return field_type
        children = sorted(f for f in fields if f.startswith(path.dotted + "."))
        if children:
            hint = f"'{path.dotted}' is an object; compare one of its fields, e.g. '{children[0]}'"
        else:
            hint = did_you_mean(path.dotted, fields) or (
                f"fields of '{event_name}': {', '.join(sorted(fields)) or '(none)'}"
            )
        self.report(
            "E203", f"unknown field '{path.dotted}' in event '{event_name}'", path.span, hint
        )
        return None

    def _check_truthy(self, condition: ast.Truthy, field_type: FieldType) -> None:
        if field_type is FieldType.BOOL:
            return
        path = condition.path.dotted
        sample = {FieldType.NUMBER: "5", FieldType.STRING: '"x"'}.get(field_type)
        self.report(
            "E303",
            f"'{path}' is a {field_type.value}, not a bool; it cannot stand alone",
            condition.span,
            f"compare it, e.g. {path} == {sample}" if sample else "timestamps cannot be tested yet",
        )

    def _check_comparison(self, condition: ast.Comparison, field_type: FieldType) -> None:
        path, value = condition.path.dotted, condition.value
        if field_type is FieldType.TIMESTAMP:
            self.report(
                "E304",
                "comparison on timestamp not supported yet",
                condition.span,
                f"'{path}' is a timestamp; time windows come in a later version",
            )
        elif isinstance(value, ast.BareWord):
            self._bare_word(value, field_type)
        elif isinstance(value, ast.BoolLiteral) and value.is_alias:
            if field_type is not FieldType.BOOL:
                self.report(
                    "E302",
                    f"'{value.spelling}' means a bool, but '{path}' is a {field_type.value}",
                    value.span,
                    f"aliases like yes/no/+/- are for bool fields; write {_example(field_type)}",
                )
        elif _LITERAL_TYPES[type(value)] is not field_type:
            self._literal_mismatch(path, value, field_type)

    def _bare_word(self, value: ast.BareWord, field_type: FieldType) -> None:
        if field_type is FieldType.BOOL:
            hint = "write true or false"
        else:
            hint = f'quote it: "{value.text}"'
        self.report("E305", f"unquoted word '{value.text}' used as a value", value.span, hint)

    def _literal_mismatch(self, path: str, value: ast.Literal, field_type: FieldType) -> None:
        literal_type = _LITERAL_TYPES[type(value)]
        self.report(
            "E301",
            f"'{path}' is a {field_type.value}, but the value is a {literal_type.value}",
            value.span,
            _mismatch_hint(value, field_type),
        )


def _requirements(statements: Iterable[ast.BadgeStatement]) -> Iterable[ast.Requirement]:
    for statement in statements:
        if isinstance(statement, ast.Requirement):
            yield statement
        elif isinstance(statement, ast.AnyGroup):
            yield from statement.members


def _mismatch_hint(value: ast.Literal, field_type: FieldType) -> str:
    if isinstance(value, ast.StringLiteral) and field_type is FieldType.NUMBER:
        if _looks_numeric(value.value):
            return f"remove the quotes: {value.value}"
    if isinstance(value, ast.StringLiteral) and value.value in ("true", "false"):
        return f"remove the quotes: {value.value}"
    if isinstance(value, ast.NumberLiteral) and field_type is FieldType.STRING:
        return f'quote it: "{value.text}"'
    return f"write {_example(field_type)}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _example(field_type: FieldType) -> str:
    return {
        FieldType.BOOL: "true or false",
        FieldType.NUMBER: "a number such as 5",
        FieldType.STRING: 'a quoted string such as "x"',
        FieldType.TIMESTAMP: "a timestamp",
    }[field_type]


def _where(span: Span) -> str:
    return f"{span.file}:{span.line}:{span.column}"
