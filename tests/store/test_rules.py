from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from server.domain import RuleSetRecord
from server.store import append_rules, current_rules
from tests.store.conftest import NOW

FILES = (("courses.badge", 'badge "demo" {\n  require on passed\n}\n'), ("empty.badge", ""))


def test_there_are_no_rules_at_first(session: Session) -> None:
    assert current_rules(session) is None


def test_append_rules_numbers_versions_from_one(session: Session) -> None:
    first = append_rules(session, FILES, NOW)
    session.commit()
    second = append_rules(session, [("only.badge", "# ünïcode")], NOW + timedelta(days=1))
    session.commit()

    assert first == RuleSetRecord(version=1, files=FILES, applied_at=NOW)
    assert second.version == 2
    assert current_rules(session) == second
