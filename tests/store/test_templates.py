from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.domain import TemplateRecord
from server.store import (
    active_template_ids,
    ensure_templates,
    get_template,
    list_templates,
    set_template_active,
)
from server.store.models import Template
from tests.store.conftest import NOW

LATER = NOW + timedelta(hours=1)


def test_ensure_templates_creates_missing_ones_inactive(session: Session) -> None:
    created = ensure_templates(
        session, [("credly", "t1", "Demo", "Pass the demo"), ("accredible", "42", "Five", "")], NOW
    )
    session.commit()

    assert created == ["credly:t1", "accredible:42"]
    assert get_template(session, "credly:t1") == TemplateRecord(
        id="credly:t1",
        provider="credly",
        external_id="t1",
        name="Demo",
        description="Pass the demo",
        active=False,
        created_at=NOW,
        updated_at=NOW,
    )
    assert get_template(session, "credly:missing") is None


def test_ensure_templates_leaves_known_ones_alone(session: Session) -> None:
    ensure_templates(session, [("credly", "t1", "Demo", "")], NOW)
    session.commit()

    created = ensure_templates(
        session,
        [("credly", "t2", "New", ""), ("credly", "t1", "Renamed", ""), ("credly", "t2", "New", "")],
        LATER,
    )
    session.commit()

    assert created == ["credly:t2"]
    known = get_template(session, "credly:t1")
    assert known is not None and (known.name, known.updated_at) == ("Demo", NOW)


def test_a_duplicate_template_is_rejected(session: Session) -> None:
    ensure_templates(session, [("credly", "t1", "Demo", "")], NOW)
    session.commit()
    row = {
        "id": "credly:t1-again",
        "provider": "credly",
        "external_id": "t1",
        "name": "Again",
        "created_at": NOW,
        "updated_at": NOW,
    }

    with pytest.raises(IntegrityError):
        session.execute(insert(Template).values(row))
    session.rollback()


def test_set_template_active_toggles_and_stamps(session: Session) -> None:
    ensure_templates(session, [("credly", "t1", "Demo", ""), ("credly", "t2", "Other", "")], NOW)
    session.commit()
    get_template(session, "credly:t1")  # loaded once, so a stale cached row would show

    activated = set_template_active(session, "credly:t1", True, LATER)
    session.commit()

    assert (activated.active, activated.updated_at) == (True, LATER)
    assert get_template(session, "credly:t1") == activated
    assert active_template_ids(session) == {"credly:t1"}
    again = set_template_active(session, "credly:t1", True, LATER + timedelta(hours=1))
    assert again.updated_at == LATER
    assert set_template_active(session, "credly:t1", False, LATER).active is False


def test_set_template_active_raises_for_unknown_ids(session: Session) -> None:
    with pytest.raises(KeyError):
        set_template_active(session, "credly:missing", True, NOW)


@pytest.mark.parametrize(
    ("active_only", "pages"),
    [
        pytest.param(False, [["credly:a", "credly:b"], ["credly:c", "credly:d"], []], id="all"),
        pytest.param(True, [["credly:b", "credly:d"], []], id="active-only"),
    ],
)
def test_list_templates_pages_by_id(
    session: Session, active_only: bool, pages: list[list[str]]
) -> None:
    ensure_templates(session, [("credly", name, name, "") for name in "dcba"], NOW)
    set_template_active(session, "credly:b", True, NOW)
    set_template_active(session, "credly:d", True, NOW)
    session.commit()

    seen: list[list[str]] = []
    after: str | None = None
    for _ in pages:
        page = list_templates(session, after_id=after, limit=2, active_only=active_only)
        seen.append([t.id for t in page])
        after = page[-1].id if page else after
    assert seen == pages
