"""Every example in examples/ against a real server: apply the rule file, activate its
templates, publish its sample events, and check the outcome it promises in expect.json
(who holds the badge, who must not, who had it revoked, each learner's progress, how
many times a repeatable badge was awarded, the evidence, and the expiry).

The same expectations are checked offline by `badgectl rules test` (see
tests/unit/test_rule_tests.py::test_every_example_passes). The one difference: the
server awards at its own clock, not at the events' occurred_at, so an `expires after`
expiry is checked here as award time + duration, and offline as an exact instant."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from badgeflow.v1 import (
    event_pb2,
    event_service_pb2,
    progress_pb2,
    progress_service_pb2,
    rule_service_pb2,
    rules_pb2,
    template_service_pb2,
)
from google.protobuf import json_format

import dsl
from server.rule_tests import CHECK_KEYS
from tests.service.stubs import Stubs, stubs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED_STEMS = {
    "01-any-course-passed",
    "02-any-course-except-demo",
    "03-specific-course",
    "04-two-courses",
    "05-one-of-two-courses",
    "06-any-ccx-course",
    "07-specific-ccx-course",
    "08-ccx-of-master-except-one",
    "09-master-or-its-ccx-except-one",
    "10-specific-course-with-penalty",
    "11-operators",
    "12-timestamps-and-during",
    "13-count-within",
    "14-count-distinct",
    "15-then-order",
    "16-has-badge",
    "17-repeatable",
    "18-issuing-directives",
    "19-custom-event-type",
    "20-generic-events",
    "21-penalty-partial-count",
}
#: The first ten examples are Open edX's configuration examples; the others each show one
#: construct of the rules language.
OPEN_EDX_STEMS = {stem for stem in EXPECTED_STEMS if int(stem[:2]) <= 10}
DOCS = EXAMPLES.parent / "docs" / "rules.md"
RULE_FILES = sorted(EXAMPLES.glob("*.badge"))


@pytest.fixture
async def s(target: str) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield stubs(channel)


def _sibling(rule_file: Path, suffix: str) -> Path:
    return rule_file.with_name(rule_file.stem + suffix)


def _events(rule_file: Path) -> list[event_pb2.Event]:
    lines = _sibling(rule_file, ".events.jsonl").read_text().splitlines()
    return [
        json_format.ParseDict(json.loads(line), event_pb2.Event()) for line in lines if line.strip()
    ]


def _expect(rule_file: Path) -> dict[str, Any]:
    return json.loads(_sibling(rule_file, ".expect.json").read_text())


def _checks(expect: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The expectations per template: under `badges`, or top level for the only one."""
    if "badges" in expect:
        assert not set(expect) & CHECK_KEYS, "top-level checks and 'badges' do not mix"
        return expect["badges"]
    (template_id,) = expect["templates"]
    return {template_id: {k: v for k, v in expect.items() if k in CHECK_KEYS}}


def test_the_examples_are_exactly_the_expected_ones() -> None:
    assert {p.stem for p in RULE_FILES} == EXPECTED_STEMS
    expected_files = {"README.md"} | {
        stem + suffix
        for stem in EXPECTED_STEMS
        for suffix in (".badge", ".events.jsonl", ".expect.json")
    }
    assert {p.name for p in EXAMPLES.iterdir()} == expected_files


def test_every_rule_file_opens_with_a_comment_block() -> None:
    for path in RULE_FILES:
        lines = path.read_text().splitlines()
        assert lines[0].startswith("# "), path.name
        assert all(line.startswith("#") for line in lines[:3]), path.name
        if path.stem in OPEN_EDX_STEMS:
            assert lines[0].startswith("# Open edX Credentials badges docs"), path.name


def test_the_examples_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    assert [p.name for p in RULE_FILES if f"`{p.name}`" not in readme] == []


def test_the_rules_reference_documents_every_diagnostic_code() -> None:
    """docs/rules.md has a section per code of dsl/DIAGNOSTICS.md, retired ones aside."""
    table = (EXAMPLES.parent / "dsl" / "DIAGNOSTICS.md").read_text()
    codes = re.findall(r"^\| `([EW]\d{3})` \|", table, re.M)
    assert codes
    documented = re.findall(r"^#### `([EW]\d{3})`", DOCS.read_text(), re.M)
    assert [c for c in codes if c not in documented] == []
    assert [c for c in documented if c not in codes] == []


def test_all_examples_compile_together_without_any_diagnostic() -> None:
    """Slugs and template ids are unique across the examples (E205/E209 otherwise), so
    the whole directory can be applied at once."""
    files = [dsl.SourceFile(f"examples/{p.name}", p.read_text()) for p in RULE_FILES]
    assert dsl.check(files) == []
    templates = {b.template_id for b in dsl.compile_rules(files).badges}
    assert templates == {t for p in RULE_FILES for t in _expect(p)["templates"]}


@pytest.mark.parametrize("rule_file", [pytest.param(p, id=p.stem) for p in RULE_FILES])
def test_expectations_cover_every_learner_of_the_events(rule_file: Path) -> None:
    """Every learner in the events is either awarded or not, for every template; the
    lists do not overlap."""
    expect = _expect(rule_file)
    assert set(expect) <= {"templates", "badges"} | CHECK_KEYS
    learners = {e.learner.id for e in _events(rule_file)}
    checks = _checks(expect)
    assert set(checks) == set(expect["templates"])
    for template_checks in checks.values():
        assert set(template_checks) <= CHECK_KEYS
        awarded, not_awarded = set(template_checks["awarded"]), set(template_checks["not_awarded"])
        revoked = set(template_checks.get("revoked", []))
        assert awarded and not_awarded, "an example needs learners on both sides"
        assert not awarded & not_awarded
        assert awarded | not_awarded == learners
        assert revoked <= not_awarded
        assert set(template_checks["progress"]) <= learners
        for key in ("expires_at", "evidence"):
            assert set(template_checks.get(key, {})) <= awarded, key


async def _template_records(s: Stubs, template_id: str) -> dict[str, progress_pb2.TemplateProgress]:
    records: dict[str, progress_pb2.TemplateProgress] = {}
    token = ""
    while True:
        page = await s.progress.ListTemplateProgress(
            progress_service_pb2.ListTemplateProgressRequest(
                template_id=template_id, page={"page_size": 100, "page_token": token}
            )
        )
        for record in page.records:
            assert record.learner_id not in records
            records[record.learner_id] = record
        token = page.next_page_token
        if not token:
            return records


def _expected_expiry(badge: dsl.CompiledBadge, award: progress_pb2.Award) -> datetime | None:
    """The expiry the rules give an award made at the server's award time."""
    if badge.expiry is None:
        return None
    return badge.expiry.expires_at(award.award_time.ToDatetime(tzinfo=UTC))


@pytest.mark.parametrize("rule_file", [pytest.param(p, id=p.stem) for p in RULE_FILES])
async def test_example_outcome(s: Stubs, rule_file: Path) -> None:
    expect = _expect(rule_file)
    events = _events(rule_file)
    templates = expect["templates"]
    checks = _checks(expect)
    rule_set = dsl.compile_rules([dsl.SourceFile(rule_file.name, rule_file.read_text())])

    applied = await s.rules.ApplyRules(
        rule_service_pb2.ApplyRulesRequest(
            files=[rules_pb2.RuleFile(name=rule_file.name, content=rule_file.read_text())]
        )
    )
    assert sorted(applied.created_template_ids) == sorted(templates)
    for template_id in templates:
        await s.templates.ActivateTemplate(
            template_service_pb2.ActivateTemplateRequest(template_id=template_id)
        )

    published = await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    assert [(r.event_id, r.outcome) for r in published.results] == [
        (e.id, event_pb2.EVENT_OUTCOME_ACCEPTED) for e in events
    ]

    for template_id in templates:
        await _check_template(s, template_id, checks[template_id], rule_set)


async def _check_template(
    s: Stubs, template_id: str, expect: dict[str, Any], rule_set: dsl.RuleSet
) -> None:
    badge = rule_set.badge_for_template(template_id)
    assert badge is not None
    awarded, not_awarded = set(expect["awarded"]), set(expect["not_awarded"])
    revoked = set(expect.get("revoked", []))
    progress = {learner: float(percent) for learner, percent in expect["progress"].items()}
    times = expect.get("times_awarded", {})

    records = await _template_records(s, template_id)
    assert {learner: r.percent for learner, r in records.items()} == progress
    holders = {
        learner
        for learner, r in records.items()
        if r.HasField("award") and r.award.state == progress_pb2.AWARD_STATE_AWARDED
    }
    assert holders == awarded
    revokes = {
        learner
        for learner, r in records.items()
        if r.HasField("award") and r.award.state == progress_pb2.AWARD_STATE_REVOKED
    }
    assert revokes == revoked

    for learner in sorted(awarded | not_awarded):
        reply = await s.progress.GetLearnerProgress(
            progress_service_pb2.GetLearnerProgressRequest(learner_id=learner)
        )
        record = {r.template_id: r for r in reply.progress}.get(template_id)
        if learner not in progress:
            assert record is None, f"{learner} has unexpected progress on {template_id}"
            assert times.get(learner, 0) == 0, learner
            continue
        assert record is not None, f"{learner} has no progress on {template_id}"
        assert record.percent == progress[learner], learner
        assert record.percent == round(100.0 * record.fulfilled_groups / record.total_groups, 2)
        if learner in times:
            assert record.times_awarded == times[learner], learner
        if learner in awarded:
            award = record.award
            assert award.state == progress_pb2.AWARD_STATE_AWARDED, learner
            assert (award.learner_id, award.template_id) == (learner, template_id)
            # The percent is checked above: a repeatable badge starts over after each award,
            # and a `has badge` reset leaves an awarded badge below 100 % (16-has-badge).
            assert award.sequence == (record.times_awarded if badge.repeatable else 1)
            wanted = _expected_expiry(badge, award)
            if wanted is None:
                assert not award.HasField("expire_time"), learner
            else:
                assert award.expire_time.ToDatetime(tzinfo=UTC) == wanted, learner
            if learner in expect.get("expires_at", {}) and badge.expiry.on is not None:
                assert wanted == datetime.fromisoformat(expect["expires_at"][learner])
            evidence = [[e.kind, e.name, e.value] for e in award.evidence]
            assert evidence == expect.get("evidence", {}).get(learner, evidence), learner
        elif learner in revoked:
            assert record.award.state == progress_pb2.AWARD_STATE_REVOKED, learner
            assert record.award.revoked_by == progress_pb2.REVOKED_BY_PENALTY
        else:
            assert not record.HasField("award"), f"{learner} must not have an award"
