"""Applying rule sets and switching templates on and off.

Both change what the engine evaluates, so both end by swapping the `ActiveRules` the
ingest path reads; one lock orders those swaps so they always match the database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dsl import CompiledBadge, RuleError, RuleSet, SourceFile, compile_rules
from server.domain import RuleSetRecord, TemplateRecord
from server.engine.ruleset import ActiveRules
from server.errors import FailedPrecondition, template_not_found
from server.ingest import RulesHolder, utcnow
from server.planning import Plan, diff_rule_sets, plan_rules
from server.store import rules as rules_repo
from server.store import templates as templates_repo
from server.transactions import TransactionRunner

__all__ = [
    "AppliedRules",
    "RuleAdmin",
    "StoredRulesInvalid",
    "bound_badge",
    "load_active_rules",
]


@dataclass(frozen=True, slots=True)
class AppliedRules:
    record: RuleSetRecord
    rule_set: RuleSet
    created: list[str]
    changed: list[str]
    unbound: list[str]


class StoredRulesInvalid(RuntimeError):
    """The rules in the database cannot be compiled by this version of badgeflow."""


def _source_files(record: RuleSetRecord | None) -> list[SourceFile]:
    return [SourceFile(name, text) for name, text in (record.files if record else ())]


def load_active_rules(session: Session) -> ActiveRules:
    """The rules in force as stored; used at start-up."""
    record = rules_repo.current_rules(session)
    if record is None:
        return ActiveRules.empty()
    try:
        rule_set = compile_rules(_source_files(record))
    except RuleError as error:
        # Rules are checked before they are stored, so this means the language changed
        # under them; refusing to start beats silently awarding nothing.
        raise StoredRulesInvalid(
            f"the stored rules (version {record.version}) no longer compile:\n{error}"
        ) from None
    return ActiveRules(record.version, rule_set, templates_repo.active_template_ids(session))


class RuleAdmin:
    def __init__(self, runner: TransactionRunner, holder: RulesHolder) -> None:
        self._runner = runner
        self._holder = holder
        self._lock = asyncio.Lock()

    def in_force(self) -> ActiveRules:
        return self._holder.current

    async def current(self) -> RuleSetRecord | None:
        return await self._runner.read(rules_repo.current_rules)

    async def apply(self, files: Sequence[SourceFile], expected_version: int) -> AppliedRules:
        """Compile (raises RuleError), then store the set and create unknown templates in
        one transaction, then put the set in force."""
        rule_set = compile_rules(files)
        async with self._lock:
            old = self._holder.current
            applied = await self._runner.write(
                lambda s: self._store(s, files, rule_set, expected_version, old.rule_set)
            )
            active = await self._runner.read(templates_repo.active_template_ids)
            self._holder.replace(ActiveRules(applied.record.version, rule_set, active))
        return applied

    @staticmethod
    def _store(
        session: Session,
        files: Sequence[SourceFile],
        rule_set: RuleSet,
        expected: int,
        old: RuleSet,
    ) -> AppliedRules:
        current = rules_repo.current_rules(session)
        version = current.version if current else 0
        if expected and expected != version:
            raise FailedPrecondition(
                "STALE_RULES_VERSION",
                f"expected rules version {expected}, but version {version} is in force: "
                "re-read the rules, plan again, and apply with the new version",
                metadata={"subject": "rules", "current_version": str(version)},
            )
        now = utcnow()
        record = rules_repo.append_rules(session, [(f.name, f.text) for f in files], now)
        specs = [
            (b.provider, b.template_external_id, b.slug, b.description) for b in rule_set.badges
        ]
        created = templates_repo.ensure_templates(session, specs, now)
        diff = diff_rule_sets(old, rule_set)
        return AppliedRules(record, rule_set, sorted(created), diff.changed, diff.unbound)

    async def plan(self, files: Sequence[SourceFile]) -> Plan:
        """Compile (raises RuleError) and plan against the rules in force."""
        rule_set = compile_rules(files)
        current = self._holder.current
        return await self._runner.read(lambda s: plan_rules(s, current, rule_set, utcnow()))

    async def refresh(self) -> None:
        """Bring the rules in force up to what the database holds, when another replica
        changed them (applied rules, activated or deactivated a template, or a sync
        did). A new rules version is compiled afresh; an activation only moves the
        active set."""
        async with self._lock:
            current = self._holder.current
            version = await self._runner.read(rules_repo.current_version)
            if version != current.version:
                self._holder.replace(await self._runner.read(load_active_rules))
                return
            active = await self._runner.read(templates_repo.active_template_ids)
            if active != current.active_templates:
                self._holder.replace(current.with_active(active))

    async def set_active(self, template_id: str, active: bool) -> TemplateRecord:
        async with self._lock:
            rules = self._holder.current
            badge = rules.badge(template_id)
            record = await self._runner.write(lambda s: _set_active(s, template_id, active, badge))
            active_ids = set(rules.active_templates)
            (active_ids.add if active else active_ids.discard)(template_id)
            self._holder.replace(rules.with_active(active_ids))
        return record


def _set_active(
    session: Session, template_id: str, active: bool, badge: CompiledBadge | None
) -> TemplateRecord:
    if templates_repo.get_template(session, template_id) is None:
        raise template_not_found(template_id)
    if active and (badge is None or not any(g.requirements for g in badge.groups)):
        raise FailedPrecondition(
            "TEMPLATE_HAS_NO_REQUIREMENTS",
            f"template {template_id!r} has no requirements: apply rules with a badge block "
            f"bound to it (template {template_id.replace(':', ' ', 1)}) before activating it",
            metadata={"subject": template_id, "template_id": template_id},
        )
    return templates_repo.set_template_active(session, template_id, active, utcnow())


def bound_badge(
    session: Session, rules: ActiveRules, template_id: str, advice: str
) -> CompiledBadge:
    """The badge of the rules in force bound to a known template, for the admin actions
    that need one (grant, backfill); `advice` ends the error: what to do first."""
    if templates_repo.get_template(session, template_id) is None:
        raise template_not_found(template_id)
    badge = rules.badge(template_id)
    if badge is None:
        raise FailedPrecondition(
            "TEMPLATE_NOT_BOUND",
            f"no badge block of the rules in force is bound to template {template_id!r}: " + advice,
            metadata={"subject": template_id, "template_id": template_id},
        )
    return badge
