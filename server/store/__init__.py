"""Storage: typed models, Alembic migrations, and repositories that take a session.

Repository functions never commit; the caller owns the transaction (one per batch).

Example::

    engine = create_engine_for("sqlite:///var/badgeflow.db")
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        fresh = [e for e in batch if e.id not in existing_event_ids(session, ids)]
        insert_events(session, fresh)
"""

from server.store.awards import (
    get_award,
    holders,
    insert_award,
    insert_awards,
    latest_awards,
    learner_awards,
    update_award,
)
from server.store.connections import (
    get_connection,
    list_connections,
    save_connection,
    set_connection_active,
    template_connections,
)
from server.store.db import create_engine_for, head_revision, make_session_factory, migrate
from server.store.events import (
    count_events,
    event_rows,
    events_by_ids,
    existing_event_ids,
    get_event,
    insert_events,
)
from server.store.learners import get_learner, learner_rows, upsert_learners
from server.store.outbox import (
    claim_due,
    enqueue,
    enqueue_item,
    get_outbox_item,
    list_outbox,
    outbox_counts,
    provider_badges_for_award,
    provider_badges_for_learner,
    provider_badges_for_template,
    retry_failed,
    save_item,
    upsert_provider_badge,
)
from server.store.progress import (
    learner_progress,
    load_progress,
    progress_rows,
    save_progress,
    template_progress,
)
from server.store.rules import append_rules, config_mark, current_rules, current_version
from server.store.sync import (
    apply_template_sync,
    get_provider_badge,
    record_webhook_event,
    webhook_event_processed,
)
from server.store.templates import (
    active_template_ids,
    ensure_templates,
    get_template,
    list_templates,
    set_template_active,
    template_id,
)

__all__ = [
    "active_template_ids",
    "append_rules",
    "apply_template_sync",
    "claim_due",
    "config_mark",
    "count_events",
    "create_engine_for",
    "current_rules",
    "current_version",
    "enqueue",
    "enqueue_item",
    "ensure_templates",
    "event_rows",
    "events_by_ids",
    "existing_event_ids",
    "get_award",
    "get_connection",
    "get_event",
    "get_learner",
    "get_outbox_item",
    "get_provider_badge",
    "get_template",
    "head_revision",
    "holders",
    "insert_award",
    "insert_awards",
    "insert_events",
    "latest_awards",
    "learner_awards",
    "learner_progress",
    "learner_rows",
    "list_connections",
    "list_outbox",
    "list_templates",
    "load_progress",
    "make_session_factory",
    "migrate",
    "outbox_counts",
    "progress_rows",
    "provider_badges_for_award",
    "provider_badges_for_learner",
    "provider_badges_for_template",
    "record_webhook_event",
    "retry_failed",
    "save_connection",
    "save_item",
    "save_progress",
    "set_connection_active",
    "set_template_active",
    "template_connections",
    "template_id",
    "template_progress",
    "update_award",
    "upsert_learners",
    "upsert_provider_badge",
    "webhook_event_processed",
]
