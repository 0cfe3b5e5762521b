"""RuleService: validate, plan, apply and read rule sets, and backfill them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import grpc
from badgeflow.v1 import rule_service_pb2, rule_service_pb2_grpc, rules_pb2

from dsl import Diagnostic, RuleError, RuleSet, Severity, SourceFile, check, compile_rules
from server.backfill import Backfiller, BackfillReport
from server.errors import FieldViolation, InvalidArgument, grpc_errors
from server.rules_admin import RuleAdmin
from server.services.convert import timestamp

__all__ = ["RuleServiceServicer", "diagnostic_to_proto"]

_SEVERITY = {
    Severity.ERROR: rules_pb2.DIAGNOSTIC_SEVERITY_ERROR,
    Severity.WARNING: rules_pb2.DIAGNOSTIC_SEVERITY_WARNING,
}
MAX_RULE_FILES = 1000
#: Largest rule file and rule set accepted. 10,000 badge blocks take about 2.6 MB and
#: 20 s to compile here; the bounds keep one request from holding the server for minutes.
MAX_RULE_FILE_BYTES = 4 * 1024 * 1024
MAX_RULE_SET_BYTES = 8 * 1024 * 1024


def diagnostic_to_proto(d: Diagnostic) -> rules_pb2.RuleDiagnostic:
    s = d.span
    return rules_pb2.RuleDiagnostic(
        code=d.code,
        severity=_SEVERITY[d.severity],
        message=d.message,
        hint=d.hint or "",
        span=rules_pb2.SourceSpan(
            file=s.file, line=s.line, column=s.column, end_line=s.end_line, end_column=s.end_column
        ),
        source_line=d.source_line,
        rendered=d.render(),
    )


def _summaries(rule_set: RuleSet) -> list[rules_pb2.BadgeSummary]:
    return [
        rules_pb2.BadgeSummary(
            slug=b.slug,
            template_id=b.template_id,
            group_count=len(b.groups),
            requirement_count=sum(len(g.requirements) for g in b.groups),
            penalty_count=len(b.penalties),
        )
        for b in rule_set.badges
    ]


def _files(request_files: list[rules_pb2.RuleFile]) -> list[SourceFile]:
    violations = []
    names: set[str] = set()
    for i, f in enumerate(request_files):
        if not f.name:
            violations.append(FieldViolation(f"files[{i}].name", "give every rule file a name"))
        elif f.name in names:
            violations.append(
                FieldViolation(f"files[{i}].name", f"file name {f.name!r} is used twice")
            )
        names.add(f.name)
    if len(request_files) > MAX_RULE_FILES:
        violations.append(FieldViolation("files", f"at most {MAX_RULE_FILES} files per set"))
    sizes = [len(f.content.encode("utf-8")) for f in request_files]
    for i, size in enumerate(sizes):
        if size > MAX_RULE_FILE_BYTES:
            violations.append(
                FieldViolation(
                    f"files[{i}].content",
                    f"{size:,} bytes; a rule file may hold at most {MAX_RULE_FILE_BYTES:,}:"
                    " split it into several files",
                )
            )
    if sum(sizes) > MAX_RULE_SET_BYTES:
        violations.append(
            FieldViolation(
                "files",
                f"{sum(sizes):,} bytes in all; a rule set may hold at most {MAX_RULE_SET_BYTES:,}",
            )
        )
    if violations:
        raise InvalidArgument(
            "INVALID_RULE_FILES", "the rule files are not a valid set", violations
        )
    return [SourceFile(f.name, f.content) for f in request_files]


def _headline(d: Diagnostic) -> str:
    """The first line of a rendered diagnostic: file:line:col: severity[code]: message."""
    return d.render().splitlines()[0]


def _rule_error(error: RuleError) -> InvalidArgument:
    errors = [d for d in error.diagnostics if d.severity is Severity.ERROR]
    return InvalidArgument(
        "RULES_INVALID",
        f"the rules have {len(errors)} error(s); the first: {_headline(errors[0])}",
        [FieldViolation("rules", _headline(d)) for d in errors],
        details=[
            rules_pb2.RuleDiagnostics(
                diagnostics=[diagnostic_to_proto(d) for d in error.diagnostics]
            )
        ],
        metadata={"error_count": str(len(errors))},
    )


def _template_ids(ids: Sequence[str]) -> list[str]:
    """The templates a backfill names: no empty ids, none twice."""
    violations = []
    seen: set[str] = set()
    for i, template_id in enumerate(ids):
        if not template_id.strip():
            violations.append(FieldViolation(f"template_ids[{i}]", "give a template id"))
        elif template_id in seen:
            violations.append(
                FieldViolation(f"template_ids[{i}]", f"template {template_id!r} is named twice")
            )
        seen.add(template_id)
    if violations:
        raise InvalidArgument(
            "INVALID_TEMPLATE_IDS", "the templates to backfill are not a valid list", violations
        )
    return list(ids)


def _backfill_response(report: BackfillReport) -> rule_service_pb2.BackfillRulesResponse:
    return rule_service_pb2.BackfillRulesResponse(
        events_replayed=report.events_replayed,
        events_total=report.events_total,
        learners_replayed=report.learners_replayed,
        awards=report.awards,
        done=report.done,
        results=[
            rule_service_pb2.BackfillResult(
                template_id=t.template_id,
                badge=t.badge,
                awarded_learner_ids=t.awarded_learner_ids,
                awards=t.awards,
                already_held=t.already_held,
                revoked_by_admin=t.revoked_by_admin,
                progress_updated=t.progress_updated,
            )
            for t in report.results
        ],
    )


class RuleServiceServicer(rule_service_pb2_grpc.RuleServiceServicer):
    def __init__(self, admin: RuleAdmin, backfiller: Backfiller) -> None:
        self._admin = admin
        self._backfiller = backfiller

    @grpc_errors
    async def ValidateRules(
        self, request: rule_service_pb2.ValidateRulesRequest, context: grpc.aio.ServicerContext
    ) -> rule_service_pb2.ValidateRulesResponse:
        files = _files(list(request.files))
        diagnostics = check(files)
        valid = not any(d.severity is Severity.ERROR for d in diagnostics)
        badges = _summaries(compile_rules(files)) if valid else []
        return rule_service_pb2.ValidateRulesResponse(
            valid=valid, diagnostics=[diagnostic_to_proto(d) for d in diagnostics], badges=badges
        )

    @grpc_errors
    async def ApplyRules(
        self, request: rule_service_pb2.ApplyRulesRequest, context: grpc.aio.ServicerContext
    ) -> rule_service_pb2.ApplyRulesResponse:
        files = _files(list(request.files))
        try:
            applied = await self._admin.apply(files, request.expected_version)
        except RuleError as error:
            raise _rule_error(error) from None
        return rule_service_pb2.ApplyRulesResponse(
            version=applied.record.version,
            created_template_ids=applied.created,
            changed_template_ids=applied.changed,
            unbound_template_ids=applied.unbound,
            badges=_summaries(applied.rule_set),
        )

    @grpc_errors
    async def GetRules(
        self, request: rule_service_pb2.GetRulesRequest, context: grpc.aio.ServicerContext
    ) -> rule_service_pb2.GetRulesResponse:
        record = await self._admin.current()
        if record is None:
            return rule_service_pb2.GetRulesResponse()
        files = [SourceFile(n, t) for n, t in record.files]
        return rule_service_pb2.GetRulesResponse(
            version=record.version,
            files=[rules_pb2.RuleFile(name=f.name, content=f.text) for f in files],
            applied_at=timestamp(record.applied_at),
            badges=_summaries(self._admin.in_force().rule_set),
        )

    @grpc_errors
    async def PlanRules(
        self, request: rule_service_pb2.PlanRulesRequest, context: grpc.aio.ServicerContext
    ) -> rule_service_pb2.PlanRulesResponse:
        files = _files(list(request.files))
        try:
            plan = await self._admin.plan(files)
        except RuleError as error:
            raise _rule_error(error) from None
        return rule_service_pb2.PlanRulesResponse(
            current_version=plan.current_version,
            added_template_ids=plan.diff.added,
            changed_template_ids=plan.diff.changed,
            unbound_template_ids=plan.diff.unbound,
            badges=[
                rule_service_pb2.BadgePlan(
                    slug=b.slug,
                    template_id=b.template_id,
                    change=b.change,
                    backfill_awards=b.backfill_awards,
                    template_active=b.template_active,
                    backfill_learner_ids=b.backfill_learner_ids,
                )
                for b in plan.badges
            ],
            events_replayed=plan.events_replayed,
        )

    @grpc_errors
    async def BackfillRules(
        self, request: rule_service_pb2.BackfillRulesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[rule_service_pb2.BackfillRulesResponse]:
        template_ids = _template_ids(list(request.template_ids))
        async for report in self._backfiller.run(template_ids, request.dry_run):
            yield _backfill_response(report)
