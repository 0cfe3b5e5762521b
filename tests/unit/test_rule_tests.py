"""The offline rule-test runner behind `badgectl rules test`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.rule_tests import RuleTestError, run_rule_test

RULES = """
badge "demo" {
    template accredible 7
    require on course_passed where is_passing and course.course_key == "A"
}
"""


def _event(event_id: str, learner: str, course: str, passing: bool = True) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": "org.openedx.learning.course.passing.status.updated.v1",
            "occurred_at": "2027-02-01T10:00:00Z",
            "learner": {"id": learner},
            "payload": {"is_passing": passing, "course": {"course_key": course}},
        }
    )


def _write(tmp_path: Path, expect: dict, events: list[str] | None = None) -> Path:
    rule_file = tmp_path / "demo.badge"
    rule_file.write_text(RULES)
    lines = events if events is not None else [_event("e1", "ada", "A"), _event("e2", "ben", "B")]
    (tmp_path / "demo.events.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "demo.expect.json").write_text(json.dumps(expect))
    return rule_file


def test_a_true_expectation_passes(tmp_path: Path) -> None:
    expect = {"awarded": ["ada"], "not_awarded": ["ben"], "progress": {"ada": 100, "ben": 0}}
    result = run_rule_test(_write(tmp_path, expect))
    assert (result.passed, result.events, result.checks) == (True, 2, 4)


def test_wrong_expectations_are_each_reported(tmp_path: Path) -> None:
    expect = {"awarded": ["ben"], "not_awarded": ["ada"], "progress": {"ada": 50}}
    result = run_rule_test(_write(tmp_path, expect))
    assert result.failures == [
        "accredible:7: ben should hold the badge but has no award",
        "accredible:7: ada should not hold the badge but does",
        "accredible:7: ada should be at 50% but is at 100%",
    ]


def test_expectations_for_several_templates_go_under_badges(tmp_path: Path) -> None:
    rule_file = _write(tmp_path, {"awarded": ["ada"]})
    rule_file.write_text(RULES + RULES.replace('"demo"', '"other"').replace("7", "8"))
    with pytest.raises(
        RuleTestError, match="several templates are tested: put expectations under 'badges'"
    ):
        run_rule_test(rule_file)
    (tmp_path / "demo.expect.json").write_text(
        json.dumps(
            {"badges": {"accredible:7": {"awarded": ["ada"]}, "accredible:8": {"awarded": ["ada"]}}}
        )
    )
    assert run_rule_test(rule_file).passed


@pytest.mark.parametrize(
    ("events", "message"),
    [
        pytest.param(["{not json"], r"demo.events.jsonl:1: not an event", id="malformed"),
        pytest.param(
            [_event("e1", "", "A")],
            r"event 'e1' was rejected: event.learner.id is empty",
            id="rejected",
        ),
    ],
)
def test_unusable_events_stop_the_test_with_a_reason(
    tmp_path: Path, events: list[str], message: str
) -> None:
    with pytest.raises(RuleTestError, match=message):
        run_rule_test(_write(tmp_path, {"awarded": []}, events))


def test_a_missing_test_file_is_named(tmp_path: Path) -> None:
    rule_file = _write(tmp_path, {})
    (tmp_path / "demo.expect.json").unlink()
    with pytest.raises(RuleTestError, match=r"demo.expect.json is missing"):
        run_rule_test(rule_file)


def test_every_example_passes() -> None:
    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.badge"))
    assert examples
    failures = {p.name: run_rule_test(p).failures for p in examples}
    assert failures == {p.name: [] for p in examples}
