"""Per-learner locks for writers on PostgreSQL, where several replicas write at once.

Everything ingest decides for a learner (de-duplication of their events, progress on
each template, awards, `has badge` dependencies) reads and writes that learner's rows
only, so one lock per learner, held to the end of the transaction, makes replicas
process a learner's events one batch at a time: nothing is lost to a concurrent update
and an award is made once. Transaction-level advisory locks were chosen over
`SELECT … FOR UPDATE` because the rows to lock often do not exist yet (a learner's
first event, a progress row about to be inserted), and over SERIALIZABLE because a
retry of a whole group commit costs far more than a short wait. Locks are taken in
one statement, in key order, so two writers never wait on each other in a cycle.

SQLite needs none: it has one writer at a time, and the write transaction is it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy.orm import Session

__all__ = ["learner_lock_key", "lock_learners"]

_LOCK = (
    "SELECT pg_advisory_xact_lock(k)"
    " FROM (SELECT DISTINCT unnest(CAST(%s AS bigint[])) AS k ORDER BY k) AS keys"
)


def learner_lock_key(learner_id: str) -> int:
    """A learner's advisory lock number: 64 bits of a hash, so two learners share one
    only by a (harmless) chance of 1 in 2**64."""
    digest = hashlib.blake2b(learner_id.encode(), digest_size=8, person=b"bf-learner").digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_learners(session: Session, learner_ids: Iterable[str]) -> None:
    """Wait for, then hold until commit or rollback, the locks of these learners."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({learner_lock_key(learner_id) for learner_id in learner_ids})
    if keys:
        session.connection().exec_driver_sql(_LOCK, (keys,))
