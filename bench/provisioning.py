"""Putting rules and active templates in a database before a run, two ways.

Through the services (RuleService.ApplyRules, TemplateService.ActivateTemplate), as an
admin would: used by the ingest scenarios, which time it. Activating one template
rebuilds the engine's index of every active template, so activating 10,000 one by one
grows quadratically (about half an hour here); those scenarios therefore activate all
but the last few directly in the store and time only the last few through the
service, at full size, and report the extrapolated cost.

Directly in the store (one transaction): used where setting up is not the point."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from badgeflow_client import BadgeflowClient
from sqlalchemy import text

from bench.measure import progress
from bench.workloads import course_rules, template_ids
from server.store import append_rules, ensure_templates, set_template_active
from server.store.db import create_engine_for, make_session_factory, migrate
from tests.service.serverproc import ServerProcess, start_server

__all__ = [
    "SERVICE_ACTIVATIONS",
    "activate_through_service",
    "apply_through_service",
    "prepare_in_store",
    "running_server",
]

SERVICE_ACTIVATIONS = 5  # templates activated through TemplateService, timed, at full size
BENCH_SERVER_SETTINGS = {"issuance_worker": "false", "reconcile_interval_seconds": "0"}


@contextmanager
def running_server(url: str, **settings: str) -> Iterator[ServerProcess]:
    """A real server process (`python -m server`) on `url`; the issuance worker is off,
    since issuance has its own scenario and would compete for the write lock."""
    server = start_server(url, **{**BENCH_SERVER_SETTINGS, **settings})
    try:
        yield server
    finally:
        server.terminate()


def prepare_in_store(url: str, templates: int) -> None:
    """Migrate, store the rules, and create and activate every template at once."""
    engine = create_engine_for(url)
    migrate(engine)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session, session.begin():
        append_rules(session, [("bench.badge", course_rules(templates))], now)
        specs = [("credly", f"bench-{i}", f"bench-{i}", "") for i in range(templates)]
        ensure_templates(session, specs, now)
        _activate_in_store(session, template_ids(templates), now)
    _checkpoint(engine)
    engine.dispose()


def apply_through_service(url: str, templates: int) -> dict[str, Any]:
    """Apply the rules through RuleService, then activate all but the last
    SERVICE_ACTIVATIONS templates in the store; returns the time ApplyRules took."""
    with running_server(url) as server, BadgeflowClient(server.target, timeout=900) as client:
        progress(f"applying {templates:,} badge blocks through RuleService")
        start = time.perf_counter()
        applied = client.apply_rules({"bench.badge": course_rules(templates)})
        seconds = time.perf_counter() - start
    if len(applied.created_template_ids) != templates:
        raise RuntimeError(f"ApplyRules created {len(applied.created_template_ids)} templates")
    engine = create_engine_for(url)
    with make_session_factory(engine)() as session, session.begin():
        _activate_in_store(
            session, template_ids(templates)[:-SERVICE_ACTIVATIONS], datetime.now(UTC)
        )
    _checkpoint(engine)
    engine.dispose()
    return {"apply_rules_s": round(seconds, 2)}


def activate_through_service(target: str, templates: int) -> dict[str, Any]:
    """Activate the last SERVICE_ACTIVATIONS templates through TemplateService, timed
    one by one with (templates - k) already active."""
    times = []
    with BadgeflowClient(target, timeout=900) as client:
        for template_id in template_ids(templates)[-SERVICE_ACTIVATIONS:]:
            start = time.perf_counter()
            client.activate_template(template_id)
            times.append(time.perf_counter() - start)
    each = sum(times) / len(times)
    return {
        "activate_template_ms_at_full_size": round(each * 1000, 1),
        # Each activation costs about in proportion to the templates already active.
        "activate_all_one_by_one_estimated_s": round(each * templates / 2, 1),
    }


def _activate_in_store(session: Any, ids: list[str], now: datetime) -> None:
    for template_id in ids:
        set_template_active(session, template_id, True, now)


def _checkpoint(engine: Any) -> None:
    """Fold SQLite's WAL into the file, so the database can be copied as one file."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
