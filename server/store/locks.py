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
import json
from collections.abc import Iterable

from sqlalchemy.orm import Session

__all__ = ["LOCK_GATE", "learner_lock_key", "learner_lock_keys", "lock_learners"]

# The keys come as JSON text (a list of numbers): psycopg builds array parameters in Python.
_TAKE = (
    "SELECT pg_advisory_xact_lock(k) FROM"
    " (SELECT DISTINCT CAST(json_array_elements_text(CAST(%s AS json)) AS bigint) AS k"
    " ORDER BY k) AS keys"
)

#: A condition that takes the locks whose keys are its one parameter: put first in the
#: WHERE of a query on the same transaction, it runs (once, as a one-time filter) before
#: the query reads a row, so the query and the locks cost one round trip. The query's
#: snapshot is older than the locks: use it only where a row committed in between is
#: caught anyway (the duplicate check: the events' primary key stops a second insert).
LOCK_GATE = f"(SELECT count(*) FROM ({_TAKE}) AS taken) >= 0"


def learner_lock_key(learner_id: str) -> int:
    """A learner's advisory lock number: 64 bits of a hash, so two learners share one
    only by a (harmless) chance of 1 in 2**64."""
    digest = hashlib.blake2b(learner_id.encode(), digest_size=8, person=b"bf-learner").digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_learners(session: Session, learner_ids: Iterable[str]) -> None:
    """Wait for, then hold until commit or rollback, the locks of these learners."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = list(learner_ids)
    if ids:
        session.connection().exec_driver_sql(_TAKE, (learner_lock_keys(ids),))


def learner_lock_keys(learner_ids: Iterable[str]) -> str:
    """The lock numbers of these learners as the parameter of `_TAKE` (JSON text)."""
    return json.dumps(sorted({learner_lock_key(learner_id) for learner_id in learner_ids}))
