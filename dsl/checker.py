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
from dsl.dependencies import find_cycles
from dsl.diagnostics import Diagnostic, SourceLines, Span, did_you_mean
from dsl.evidence import EVIDENCE_KINDS, URL_PREFIXES, TemplateProblem, parse_template
from dsl.naming import layout_badge
from dsl.schemas import BUILTIN_ALIASES, BUILTIN_EVENT_TYPES, FieldType
from dsl.timestamps import parse_literal
from dsl.typecheck import ConditionChecker, check_timestamp
from dsl.units import EXPIRY_UNITS, ISSUE_METHODS, WINDOW_UNITS, unit_name

__all__ = ["PROVIDERS", "Environment", "check_files"]

PROVIDERS = ("accredible", "credly")
_TYPE_NAMES = {t.value: t for t in FieldType}


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
    checker.all_slugs = [b.slug for f in files for b in f.badges]
    for rule_file in files:
        for badge in rule_file.badges:
            checker.check_badge(badge, environment)
    checker.check_dependencies()
    return checker.diagnostics, environment


class _Checker:
    def __init__(self, lines: SourceLines) -> None:
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []
        self._slugs: dict[str, Span] = {}
        self._templates: dict[str, tuple[str, Span]] = {}
        self._field_spans: dict[tuple[str, str], Span] = {}
        self.all_slugs: list[str] = []
        self._dependencies: list[tuple[str, str, Span]] = []

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
        event_types: list[str] = []
        for _, requirement in (m for g in layout.groups for m in g.members):
            event_types += self._check_requirement(badge, requirement, env)
        for _, penalty in layout.penalties:
            self._check_match(penalty.match, env)
            self._check_resets(penalty, names)
        self._check_directives(badge)
        evidence = [s for s in badge.statements if isinstance(s, ast.Evidence)]
        for item in evidence:
            self._check_evidence(item, [env.schemas[t] for t in dict.fromkeys(event_types)])

    # ---- requirements ----------------------------------------------------------------

    def _check_requirement(
        self, badge: ast.Badge, requirement: ast.Requirement, env: Environment
    ) -> list[str]:
        """Check one requirement; returns the event types its triggers resolve to."""
        criterion = requirement.criterion
        event_types = [t for m in requirement.matches if (t := self._check_match(m, env))]
        if isinstance(criterion, ast.Count):
            self._check_count(criterion, env.schemas.get(event_types[0]) if event_types else None)
        elif isinstance(criterion, ast.HasBadge):
            self._check_has_badge(badge, criterion)
        if requirement.window is not None:
            self._check_window(requirement.window, criterion)
        return event_types

    def _check_count(self, count: ast.Count, fields: Mapping[str, FieldType] | None) -> None:
        threshold = count.threshold
        if count.op != ">=":
            self._wrong_count_operator(count)
        if self._check_amount(threshold, "a count") and threshold.value == 1 and not count.distinct:
            self.report(
                "W402",
                "'count >= 1' is the same as a plain requirement",
                threshold.span,
                "write 'require on EVENT ...' or count to 2 or more",
            )
        if count.distinct is not None and fields is not None:
            ConditionChecker(fields, count.match.event.text, self.report).field(count.distinct)

    def _wrong_count_operator(self, count: ast.Count) -> None:
        threshold = count.threshold.text
        distinct = f"distinct {count.distinct.dotted} " if count.distinct else ""
        if count.op is None:
            message = "a count needs '>='"
        else:
            message = f"a count takes '>=', not '{count.op}'"
        if count.op == ">" and isinstance(count.threshold.value, int):
            threshold = str(count.threshold.value + 1)
        hint = f"write 'count {distinct}>= {threshold} of (...)'"
        if count.op not in (None, ">"):
            hint += "; a count is reached once and then stays reached"
        self.report("E407", message, count.span, hint)

    def _check_amount(self, amount: ast.NumberLiteral, what: str) -> bool:
        """Thresholds, windows and expiry: whole numbers of at least 1 (E408)."""
        value = amount.value
        if isinstance(value, int) and value >= 1:
            return True
        self.report(
            "E408",
            f"{what} must be a whole number of at least 1, not {amount.text}",
            amount.span,
            None,
        )
        return False

    def _check_window(self, window: ast.Window, criterion: ast.Criterion) -> None:
        if isinstance(criterion, ast.Match | ast.HasBadge):
            if isinstance(criterion, ast.HasBadge):
                hint = "'has badge' asks whether the badge is held now; remove 'within'"
            else:
                hint = (
                    "one event has no duration: bound its time with 'during 2027-02-01 .."
                    f" 2027-03-01', or count: 'count >= 2 of (on ...) within {window.amount.text}"
                    f" {window.unit.name}'"
                )
            self.report("E409", "'within' applies to counts and sequences only", window.span, hint)
            return
        self._check_amount(window.amount, "a window")
        self._check_unit(window.unit, WINDOW_UNITS, "windows")

    def _check_unit(self, unit: ast.Ident, units: Sequence[str], what: str) -> None:
        if unit_name(unit.name, units) is not None:
            return
        hint = did_you_mean(unit.name, units) or f"{what} are in {', '.join(units)}"
        if unit_name(unit.name, ("months", "years")) and "months" not in units:
            hint += "; a month varies, so write days or weeks (30 days, 52 weeks)"
        self.report("E212", f"unknown time unit '{unit.name}'", unit.span, hint)

    def _check_has_badge(self, badge: ast.Badge, has: ast.HasBadge) -> None:
        if has.slug == badge.slug:
            self.report(
                "E411",
                f"badge '{badge.slug}' requires itself",
                has.slug_span,
                "a badge cannot be a requirement of itself; remove this line",
            )
        elif has.slug not in self.all_slugs:
            others = [s for s in self.all_slugs if s != badge.slug]
            self.report(
                "E210",
                f"unknown badge '{has.slug}'",
                has.slug_span,
                did_you_mean(has.slug, others)
                or f"badges in these files: {', '.join(others) or '(none)'}",
            )
        else:
            self._dependencies.append((badge.slug, has.slug, has.slug_span))

    def check_dependencies(self) -> None:
        """E412 once per cycle of `has badge` requirements, at its first edge."""
        for cycle, span in find_cycles(self._dependencies):
            self.report(
                "E412",
                "badge dependency cycle: " + " -> ".join(cycle),
                span,
                "no badge of a cycle can ever be earned first; remove one 'has badge'",
            )

    # ---- issuing directives ------------------------------------------------------------

    def _check_directives(self, badge: ast.Badge) -> None:
        methods = [s for s in badge.statements if isinstance(s, ast.Method)]
        expiries = [s for s in badge.statements if isinstance(s, ast.ExpiresAfter | ast.ExpiresOn)]
        for kind, lines in (("method", methods), ("expires", expiries)):
            for extra in lines[1:]:
                self.report(
                    "E406",
                    f"'{kind}' given twice",
                    extra.span,
                    f"first given at {_where(lines[0].span)}; keep one",
                )
        for method in methods:
            if method.name.name not in ISSUE_METHODS:
                self.report(
                    "E213",
                    f"unknown issue method '{method.name.name}'",
                    method.name.span,
                    did_you_mean(method.name.name, ISSUE_METHODS)
                    or f"methods are: {', '.join(ISSUE_METHODS)}",
                )
        for expiry in expiries:
            if isinstance(expiry, ast.ExpiresOn):
                check_timestamp(expiry.at, self.report)
            elif self._check_amount(expiry.amount, "an expiry"):
                self._check_unit(expiry.unit, EXPIRY_UNITS, "expiries")

    def _check_evidence(
        self, item: ast.Evidence, schemas: Sequence[Mapping[str, FieldType]]
    ) -> None:
        kind = item.kind.name
        if kind not in EVIDENCE_KINDS:
            self.report(
                "E214",
                f"unknown evidence kind '{kind}'",
                item.kind.span,
                did_you_mean(kind, EVIDENCE_KINDS) or "evidence kinds are: id, text, url",
            )
        template = item.template
        try:
            _, fields = parse_template(template.value)
        except TemplateProblem as problem:
            self.report("E413", problem.message, _template_span(template, problem.offset, 1))
            return
        known = {path for schema in schemas for path in schema}
        for field in fields:
            dotted = ".".join(field.path)
            if dotted not in known:
                self.report(
                    "E211",
                    f"evidence field '{{{dotted}}}' is in no event of this badge's requirements",
                    _template_span(template, field.offset, field.length),
                    did_you_mean(dotted, known)
                    or f"fields available: {', '.join(sorted(known)) or '(none)'}",
                )
        if kind == "url" and not template.value.startswith((*URL_PREFIXES, "{")):
            self.report(
                "E414",
                "an evidence url must start with http:// or https://",
                template.span,
                f'write "https://{template.value}"',
            )

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

    # ---- matches and conditions -----------------------------------------------------

    def _check_match(self, match: ast.Match, env: Environment) -> str | None:
        """Check one ``on EVENT ...``; returns the event type when it resolves."""
        if match.during is not None:
            self._check_during(match.during)
        event_type = self._resolve_event(match.event, env)
        if event_type is None:
            return None
        conditions = ConditionChecker(env.schemas[event_type], match.event.text, self.report)
        for condition in match.conditions:
            conditions.check(condition)
        return event_type

    def _check_during(self, during: ast.During) -> None:
        valid = [check_timestamp(t, self.report) for t in (during.start, during.end)]
        if all(valid) and parse_literal(during.start.text) >= parse_literal(during.end.text):
            self.report(
                "E410",
                f"'during {during.start.text} .. {during.end.text}' is empty",
                during.span,
                "the start comes first and is included; the end is excluded",
            )

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


def _requirements(statements: Iterable[ast.BadgeStatement]) -> Iterable[ast.Requirement]:
    for statement in statements:
        if isinstance(statement, ast.Requirement):
            yield statement
        elif isinstance(statement, ast.AnyGroup):
            yield from statement.members


def _template_span(template: ast.StringLiteral, offset: int, length: int) -> Span:
    """The span of characters in a template string, when it has no escapes to shift it."""
    span = template.span
    if span.end_column - span.column - 2 != len(template.value):
        return span
    column = span.column + 1 + offset
    return Span(span.file, span.line, column, span.line, column + length)


def _where(span: Span) -> str:
    return f"{span.file}:{span.line}:{span.column}"
