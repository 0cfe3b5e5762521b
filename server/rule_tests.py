"""Offline tests of rule files: run sample events through the real engine in memory and
compare what it awards with what the test file expects — like unit tests, no server.

A rule file `rules/x.badge` is tested by two sibling files:

`rules/x.events.jsonl` — one event per line, in the JSON form of `badgeflow.v1.Event`
(`{"id": …, "type": …, "occurred_at": "2027-02-01T10:00:00Z", "learner": {"id": …},
"payload": {…}}`). Events are processed in file order, each at its `occurred_at`.

`rules/x.expect.json` — what must hold after the last event:

    {
      "with": ["base.badge"],             optional: more rule files (for `has badge`)
      "templates": ["credly:…"],          optional: templates to activate (default: all)
      "awarded": ["ada"],                 learners holding the badge at the end
      "not_awarded": ["ben"],             learners not holding it (no award, or revoked)
      "revoked": ["ben"],                 learners whose award was revoked
      "progress": {"ada": 100},           percent of groups fulfilled
      "times_awarded": {"ada": 2},        repeatable badges
      "expires_at": {"ada": "2029-02-01T10:00:00+00:00"},
      "evidence": {"ada": [["url", "Course", "https://…"]]},
      "badges": {"credly:…": {…the keys above, for one template…}}
    }

The top-level keys apply to the only tested template; with several, use `badges`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeflow.v1 import event_pb2
from google.protobuf import json_format

from dsl import RuleError, SourceFile, compile_rules
from dsl.ruleset import CompiledBadge, RuleSet
from server.domain import AwardState
from server.engine import progress as prog
from server.engine.memory import MemoryBatchStore
from server.engine.processor import process_batch
from server.engine.ruleset import ActiveRules
from server.services.convert import event_from_proto

__all__ = ["CHECK_KEYS", "RuleTestError", "RuleTestResult", "run_rule_test", "test_files_for"]

#: The expectation keys checked per template.
CHECK_KEYS = {
    "awarded",
    "not_awarded",
    "revoked",
    "progress",
    "times_awarded",
    "expires_at",
    "evidence",
}
_TOP_KEYS = CHECK_KEYS | {"with", "templates", "badges"}


class RuleTestError(Exception):
    """The test itself cannot run (missing or malformed files); the message says why."""


@dataclass
class RuleTestResult:
    rule_file: str
    events: int = 0
    checks: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def test_files_for(rule_file: Path) -> tuple[Path, Path]:
    """The sibling events and expectation files of a rule file."""
    stem = rule_file.with_suffix("")
    return stem.with_name(stem.name + ".events.jsonl"), stem.with_name(stem.name + ".expect.json")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleTestError(f"{path} is missing") from None
    except (OSError, ValueError) as error:
        raise RuleTestError(f"{path}: {error}") from None


def _read_events(path: Path) -> list[event_pb2.Event]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise RuleTestError(f"{path} is missing: write the sample events there") from None
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(json_format.ParseDict(json.loads(line), event_pb2.Event()))
        except (ValueError, json_format.ParseError) as error:
            raise RuleTestError(f"{path}:{number}: not an event: {error}") from None
    return events


def _compile(rule_file: Path, extra: list[str]) -> RuleSet:
    paths = [rule_file, *(rule_file.parent / name for name in extra)]
    try:
        sources = [SourceFile(str(p), p.read_text(encoding="utf-8")) for p in paths]
    except OSError as error:
        raise RuleTestError(f"cannot read a rule file: {error}") from None
    try:
        return compile_rules(sources)
    except RuleError as error:
        raise RuleTestError(f"the rules do not compile:\n{error}") from None


def _expectations(expect: dict[str, Any], templates: list[str]) -> dict[str, dict[str, Any]]:
    unknown = set(expect) - _TOP_KEYS
    if unknown:
        raise RuleTestError(f"unknown keys in the expectation file: {sorted(unknown)}")
    per_template = dict(expect.get("badges", {}))
    top = {k: v for k, v in expect.items() if k in CHECK_KEYS}
    if top:
        if len(templates) != 1:
            raise RuleTestError("several templates are tested: put expectations under 'badges'")
        per_template.setdefault(templates[0], {}).update(top)
    for template_id, checks in per_template.items():
        if template_id not in templates:
            raise RuleTestError(f"'badges' names {template_id!r}, which is not tested")
        if set(checks) - CHECK_KEYS:
            raise RuleTestError(
                f"unknown keys for {template_id}: {sorted(set(checks) - CHECK_KEYS)}"
            )
    return per_template


def run_rule_test(rule_file: Path) -> RuleTestResult:
    """Run the sibling events through the rules and compare with the expectations."""
    events_path, expect_path = test_files_for(rule_file)
    expect = _read_json(expect_path)
    if not isinstance(expect, dict):
        raise RuleTestError(f"{expect_path}: expected a JSON object")
    rule_set = _compile(rule_file, list(expect.get("with", [])))
    templates = list(expect.get("templates") or [b.template_id for b in rule_set.badges])
    rules = ActiveRules(1, rule_set, templates)
    store = MemoryBatchStore()
    events = _read_events(events_path)
    for message in events:
        event = event_from_proto(message)
        now = event.occurred_at or datetime.now(UTC)
        (ack,) = process_batch(rules, [event], store, now).acks
        if ack.reason_code:
            raise RuleTestError(f"event {event.id!r} was rejected: {ack.reason}")
    result = RuleTestResult(str(rule_file), events=len(events))
    for template_id, checks in _expectations(expect, templates).items():
        _check(result, store, rules.badge(template_id), template_id, checks)
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _percent(badge: CompiledBadge | None, store: MemoryBatchStore, key: tuple[str, str]) -> float:
    record = store.progress.get(key)
    if record is None or badge is None:
        return 0.0
    return prog.percent(prog.fulfilled_groups(badge, record), len(badge.groups))


def _check(
    result: RuleTestResult,
    store: MemoryBatchStore,
    badge: CompiledBadge | None,
    template_id: str,
    checks: dict[str, Any],
) -> None:
    def expect(ok: bool, message: str) -> None:
        result.checks += 1
        if not ok:
            result.failures.append(f"{template_id}: {message}")

    def award(learner: str):  # noqa: ANN202
        return store.latest_award(learner, template_id)

    def state(learner: str) -> str:
        held = award(learner)
        return "no award" if held is None else f"an award in state {held.state.value}"

    for learner in checks.get("awarded", []):
        held = award(learner)
        expect(
            held is not None and held.state is AwardState.AWARDED,
            f"{learner} should hold the badge but has {state(learner)}",
        )
    for learner in checks.get("not_awarded", []):
        held = award(learner)
        expect(
            held is None or held.state is not AwardState.AWARDED,
            f"{learner} should not hold the badge but does",
        )
    for learner in checks.get("revoked", []):
        held = award(learner)
        expect(
            held is not None and held.state is AwardState.REVOKED,
            f"{learner} should have a revoked award but has {state(learner)}",
        )
    for learner, percent in checks.get("progress", {}).items():
        actual = _percent(badge, store, (learner, template_id))
        expect(
            abs(actual - float(percent)) < 0.01,
            f"{learner} should be at {percent}% but is at {actual:g}%",
        )
    for learner, times in checks.get("times_awarded", {}).items():
        record = store.progress.get((learner, template_id))
        actual = record.times_awarded if record else 0
        expect(actual == times, f"{learner} should have been awarded {times} time(s), not {actual}")
    for learner, when in checks.get("expires_at", {}).items():
        held = award(learner)
        actual = held.expires_at if held else None
        wanted = datetime.fromisoformat(when) if when else None
        expect(
            actual == wanted,
            f"{learner}'s badge should expire at {when}, not {_iso(actual)}",
        )
    for learner, items in checks.get("evidence", {}).items():
        held = award(learner)
        actual = [[e.kind, e.name, e.value] for e in held.evidence] if held else None
        expect(actual == items, f"{learner}'s evidence should be {items}, not {actual}")
