"""Applied rule sets, kept whole and numbered so every change can be audited and replayed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from server.domain import RuleSetRecord
from server.store.models import ProviderConnection, RuleSet, Template

__all__ = ["append_rules", "config_mark", "current_rules", "current_version"]


def current_rules(session: Session) -> RuleSetRecord | None:
    stmt = (
        select(RuleSet)
        .order_by(RuleSet.version.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    row = session.scalars(stmt).one_or_none()
    if row is None:
        return None
    files = tuple((name, content) for name, content in row.files)
    return RuleSetRecord(version=row.version, files=files, applied_at=row.applied_at)


def append_rules(
    session: Session, files: Sequence[tuple[str, str]], now: datetime
) -> RuleSetRecord:
    """Store the next version. Two applies racing on one version raise IntegrityError in
    the later one (primary key), rather than one silently overwriting the other."""
    previous = session.scalar(select(func.max(RuleSet.version)))
    record = RuleSetRecord(
        version=(previous or 0) + 1,
        files=tuple((name, content) for name, content in files),
        applied_at=now,
    )
    session.execute(
        insert(RuleSet).values(
            version=record.version,
            files=[[name, content] for name, content in record.files],
            applied_at=now,
        )
    )
    return record


def current_version(session: Session) -> int:
    """The latest rules version (0 before any); cheaper than `current_rules`."""
    return session.scalar(select(func.max(RuleSet.version))) or 0


def config_mark(session: Session) -> tuple[Any, ...]:
    """A fingerprint of what a server holds in memory from the database: the rules
    version, the active templates, and the provider connections (their count and latest
    change). Another replica's apply, activation, sync, connect or disconnect changes
    it; comparing it every few seconds costs one small query."""
    stmt = select(
        select(func.max(RuleSet.version)).scalar_subquery(),
        select(func.count()).where(Template.active.is_(True)).scalar_subquery(),
        select(func.max(Template.updated_at)).scalar_subquery(),
        select(func.count()).select_from(ProviderConnection).scalar_subquery(),
        select(func.max(ProviderConnection.updated_at)).scalar_subquery(),
    )
    return tuple(session.execute(stmt).one())
