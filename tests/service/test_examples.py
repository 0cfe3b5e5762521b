"""Every example in examples/ against a real server: apply the rule file, activate its
templates, publish its sample events, and check the outcome it promises in expect.json
(who holds the badge, who must not, who had it revoked, and each learner's progress)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
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
}
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


def test_the_examples_are_exactly_the_expected_ten() -> None:
    assert {p.stem for p in RULE_FILES} == EXPECTED_STEMS
    expected_files = {"README.md"} | {
        stem + suffix
        for stem in EXPECTED_STEMS
        for suffix in (".badge", ".events.jsonl", ".expect.json")
    }
    assert {p.name for p in EXAMPLES.iterdir()} == expected_files


def test_every_rule_file_opens_with_a_comment_block() -> None:
    for path in RULE_FILES:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# Open edX Credentials badges docs"), path.name


def test_all_examples_compile_together_without_any_diagnostic() -> None:
    """Slugs and template ids are unique across the examples (E205/E209 otherwise), so
    the whole directory can be applied at once."""
    files = [dsl.SourceFile(f"examples/{p.name}", p.read_text()) for p in RULE_FILES]
    assert dsl.check(files) == []
    templates = {b.template_id for b in dsl.compile_rules(files).badges}
    assert templates == {t for p in RULE_FILES for t in _expect(p)["templates"]}


@pytest.mark.parametrize("rule_file", [pytest.param(p, id=p.stem) for p in RULE_FILES])
def test_expectations_cover_every_learner_of_the_events(rule_file: Path) -> None:
    """Every learner in the events is either awarded or not; the lists do not overlap."""
    expect = _expect(rule_file)
    learners = {e.learner.id for e in _events(rule_file)}
    awarded, not_awarded = set(expect["awarded"]), set(expect["not_awarded"])
    revoked = set(expect.get("revoked", []))
    assert awarded and not_awarded, "an example needs learners on both sides"
    assert not awarded & not_awarded
    assert awarded | not_awarded == learners
    assert revoked <= not_awarded
    assert set(expect["progress"]) <= learners
    assert set(expect) <= {"templates", "awarded", "not_awarded", "revoked", "progress"}


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


@pytest.mark.parametrize("rule_file", [pytest.param(p, id=p.stem) for p in RULE_FILES])
async def test_example_outcome(s: Stubs, rule_file: Path) -> None:
    expect = _expect(rule_file)
    events = _events(rule_file)
    templates = expect["templates"]
    awarded, not_awarded = set(expect["awarded"]), set(expect["not_awarded"])
    revoked = set(expect.get("revoked", []))
    progress = {learner: float(percent) for learner, percent in expect["progress"].items()}

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
        by_template = {r.template_id: r for r in reply.progress}
        for template_id in templates:
            record = by_template.get(template_id)
            if learner not in progress:
                assert record is None, f"{learner} has unexpected progress on {template_id}"
                continue
            assert record is not None, f"{learner} has no progress on {template_id}"
            assert record.percent == progress[learner], learner
            assert record.percent == 100.0 * record.fulfilled_groups / record.total_groups
            if learner in awarded:
                assert record.award.state == progress_pb2.AWARD_STATE_AWARDED, learner
                assert (record.award.learner_id, record.award.template_id) == (learner, template_id)
                assert record.percent == 100.0
            elif learner in revoked:
                assert record.award.state == progress_pb2.AWARD_STATE_REVOKED, learner
                assert record.award.revoked_by == progress_pb2.REVOKED_BY_PENALTY
            else:
                assert not record.HasField("award"), f"{learner} must not have an award"
