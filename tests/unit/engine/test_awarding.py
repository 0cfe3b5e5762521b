"""The award builder shared by processing and an admin's grant, and the engine's
"already held" rule as it applies to a granted award."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from dsl.ruleset import CompiledEvidence, Expiry
from server.awards_admin import _grant_evidence
from server.domain import (
    AwardOrigin,
    AwardRecord,
    AwardState,
    EvidenceItem,
    ProgressRecord,
    RequirementState,
    RevokedBy,
)
from server.engine.awarding import next_award, on_completed
from tests.unit.engine.builders import badge, evidence_of, requirement, trigger

NOW = datetime(2027, 1, 31, 12, tzinfo=UTC)
EARLIER = datetime(2026, 6, 1, tzinfo=UTC)
ONCE = badge("once", requirement("r", trigger("c1")), expiry=Expiry(1, "months"))
AGAIN = badge("again", requirement("r", trigger("c1")), repeatable=True)


def _held(slug: str, sequence: int = 1, **changes: Any) -> AwardRecord:
    award = AwardRecord("ada", f"credly:{slug}", slug, sequence, AwardState.AWARDED, EARLIER)
    return replace(award, id=7, event_ids=("e0",), **changes)


def _revoked(slug: str, by: RevokedBy, **changes: Any) -> AwardRecord:
    return _held(
        slug,
        state=AwardState.REVOKED,
        revoked_at=EARLIER,
        revoked_by=by,
        revoke_reason="x",
        **changes,
    )


@pytest.mark.parametrize(
    ("compiled", "latest", "expected"),
    [
        pytest.param(
            ONCE, None, (None, 1, True, datetime(2027, 2, 28, 12, tzinfo=UTC)), id="first"
        ),
        pytest.param(AGAIN, _held("again", 2), (None, 3, True, None), id="repeatable-next"),
        pytest.param(
            ONCE,
            _revoked("once", RevokedBy.ADMIN),
            (7, 1, False, datetime(2027, 2, 28, 12, tzinfo=UTC)),
            id="revoked-row-stands-again",
        ),
    ],
)
def test_a_granted_award_is_built_like_an_earned_one(
    compiled: Any, latest: AwardRecord | None, expected: tuple[Any, ...]
) -> None:
    change = next_award(
        compiled, "ada", latest, NOW, origin=AwardOrigin.GRANT, grant_reason="by hand"
    )
    award = change.award
    assert (award.id, award.sequence, change.is_new, award.expires_at) == expected
    assert (award.state, award.awarded_at, award.event_ids) == (AwardState.AWARDED, NOW, ())
    assert (award.revoked_at, award.revoked_by, award.revoke_reason) == (None, None, "")
    assert (award.origin, award.grant_reason, award.badge) == (
        AwardOrigin.GRANT,
        "by hand",
        compiled.slug,
    )


def _complete() -> ProgressRecord:
    done = RequirementState(NOW, ("e1",))
    return ProgressRecord("ada", "credly:once", {"r": done}, fulfilled_groups=1, total_groups=1)


def test_processing_never_awards_a_granted_badge_twice() -> None:
    granted = _held("once", origin=AwardOrigin.GRANT, grant_reason="by hand")
    assert on_completed(ONCE, _complete(), granted, NOW) is None


def test_a_granted_award_revoked_by_a_penalty_and_earned_again_is_the_rules_award() -> None:
    latest = _revoked("once", RevokedBy.PENALTY, origin=AwardOrigin.GRANT, grant_reason="x")
    change = on_completed(ONCE, _complete(), latest, NOW)
    assert change is not None
    assert (change.award.id, change.award.origin, change.award.grant_reason) == (
        7,
        AwardOrigin.RULES,
        "",
    )
    assert change.award.event_ids == ("e1",)


def _fixed(name: str, value: str) -> CompiledEvidence:
    def render(payload: Mapping[str, Any]) -> str:
        return value

    return CompiledEvidence("url", name, value, render)


def test_a_grant_carries_the_evidence_progress_rendered_and_the_fixed_items() -> None:
    compiled = replace(
        ONCE,
        evidence=(
            evidence_of("course"),
            _fixed("Catalogue", "https://lms.example.org/catalogue"),
            evidence_of("project", "Project"),
        ),
    )
    course = EvidenceItem("url", "Course", "https://lms.example.org/c1")
    progress = ProgressRecord(
        "ada", "credly:once", {"r": RequirementState(NOW, ("e1",), (course,))}
    )
    catalogue = EvidenceItem("url", "Catalogue", "https://lms.example.org/catalogue")
    assert _grant_evidence(compiled, progress) == (course, catalogue)
    assert _grant_evidence(compiled, None) == (catalogue,)
