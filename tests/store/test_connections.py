from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.domain import ConnectionRecord, TemplateRecord
from server.store import (
    get_connection,
    list_connections,
    save_connection,
    set_connection_active,
    template_connections,
)
from server.store.models import Template
from tests.store.conftest import NOW

CREDLY = ConnectionRecord(
    "credly:org-1",
    "credly",
    "Demo Org",
    "org-1",
    "http://127.0.0.1:1/credly/v1",
    "sealed",
    True,
    NOW,
    NOW,
)


def test_connections_round_trip_and_reconnect_updates(session: Session) -> None:
    save_connection(session, CREDLY)
    save_connection(session, replace(CREDLY, name="Renamed", sealed_token="sealed-2"))
    session.commit()
    assert get_connection(session, "credly:org-1") == replace(
        CREDLY, name="Renamed", sealed_token="sealed-2"
    )
    assert "sealed" not in repr(get_connection(session, "credly:org-1"))


def test_disconnect_keeps_the_record(session: Session) -> None:
    save_connection(session, CREDLY)
    assert set_connection_active(session, "credly:org-1", False, NOW) is True
    assert set_connection_active(session, "credly:nope", False, NOW) is False
    session.commit()
    assert list_connections(session, active_only=True) == []
    assert [c.active for c in list_connections(session)] == [False]


def test_templates_remember_their_connection(session: Session, template: TemplateRecord) -> None:
    assert template_connections(session) == {}
    session.execute(
        update(Template).where(Template.id == template.id).values(connection_id="credly:org-1")
    )
    session.commit()
    assert template_connections(session) == {template.id: "credly:org-1"}
