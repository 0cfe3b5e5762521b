"""`BadgeflowClient`: a typed, synchronous facade over the badgeflow gRPC services.

Every method raises a `BadgeflowError` subclass (see `badgeflow_client.errors`) instead of
a raw `grpc.RpcError`; list methods return a `Pager` that follows `next_page_token`
lazily. Unary calls have a deadline (`timeout`), and the idempotent ones are retried
on UNAVAILABLE (see `badgeflow_client.channel`). For asyncio, use
`badgeflow_client.aio.AsyncBadgeflowClient`: the same methods, as coroutines.

    >>> from badgeflow_client import BadgeflowClient  # doctest: +SKIP
    >>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
    ...     for template in client.list_templates(active_only=True):
    ...         print(template.id, template.badge)
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import grpc
from badgeflow.v1 import (
    api_key_pb2,
    award_service_pb2,
    event_pb2,
    key_service_pb2,
    progress_pb2,
    progress_service_pb2,
    provider_pb2,
    provider_service_pb2,
    rule_service_pb2,
    template_pb2,
)

from badgeflow_client import _calls
from badgeflow_client.channel import DEFAULT_RPC_TIMEOUT, ClientBase
from badgeflow_client.errors import Cancelled, from_rpc_error
from badgeflow_client.pagers import Pager
from badgeflow_client.publisher import (
    DEFAULT_LINGER_MS,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_RETRIES,
    EventPublisher,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RPC_TIMEOUT",
    "AwardWatch",
    "BadgeflowClient",
]

DEFAULT_BATCH_SIZE = 100
"""Events per StreamEventsRequest; the server accepts at most 1,000."""
DEFAULT_PAGE_SIZE = 100
"""Items asked for per page by the list methods."""

_Result = TypeVar("_Result")
_Response = TypeVar("_Response")


class AwardWatch(Iterator[progress_service_pb2.WatchAwardsResponse]):
    """A live `WatchAwards` stream: iterate it for award changes, `cancel()` to stop.

    Example:
        >>> watch = client.watch_awards(learner_id="L1")  # doctest: +SKIP
        >>> watch.wait_subscribed(timeout=5)  # doctest: +SKIP
        >>> change = next(watch)  # doctest: +SKIP
        >>> change.award.template_id  # doctest: +SKIP
        'credly:8f2b7c1e-0000-4000-8000-000000000001'
        >>> watch.cancel()  # doctest: +SKIP
    """

    def __init__(self, call: Any) -> None:
        self._call = call
        self._subscribed = threading.Event()
        self._waiter: threading.Thread | None = None
        self._lock = threading.Lock()

    def __iter__(self) -> AwardWatch:
        return self

    def __next__(self) -> progress_service_pb2.WatchAwardsResponse:
        try:
            return next(self._call)
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.CANCELLED and self._call.cancelled():
                raise StopIteration from None
            raise from_rpc_error(error) from error

    def _wait_for_metadata(self) -> None:
        self._call.initial_metadata()  # returns at once (empty) if the call failed
        self._subscribed.set()

    def wait_subscribed(self, timeout: float | None = None) -> None:
        """Block until the server confirms the subscription is live.

        Award changes committed after this returns are never missed. Raises
        `TimeoutError` if the confirmation does not arrive within `timeout` seconds, and
        the call's `BadgeflowError` if the watch failed (e.g. the server is unreachable).
        """
        with self._lock:
            if self._waiter is None:
                self._waiter = threading.Thread(
                    target=self._wait_for_metadata, name="badgeflow-watch-subscribed", daemon=True
                )
                self._waiter.start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError(f"the award watch was not confirmed within {timeout} s")
        if self._call.done() and self._call.code() is not grpc.StatusCode.OK:
            if self._call.cancelled():
                raise Cancelled("the award watch was cancelled")
            raise from_rpc_error(self._call)

    def cancel(self) -> None:
        """Stop the watch; iteration then ends."""
        self._call.cancel()


class BadgeflowClient(ClientBase):
    """A synchronous badgeflow client owning one channel to `target`.

    Use it as a context manager (or call `close()`). `timeout` is the deadline, in
    seconds, of every unary call (retries included). `api_key` is sent on every call as
    `authorization: Bearer <key>` (it never appears in `repr` or errors). `tls=True`
    opens a TLS channel, checked against `root_certificates` (PEM) or the system roots.
    `retries=False` turns off the retries of idempotent calls on UNAVAILABLE.

    Example:
        >>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
        ...     applied = client.apply_rules({"rules/demo.badge": open("demo.badge").read()})
        ...     client.activate_template(applied.created_template_ids[0])
    """

    def __enter__(self) -> BadgeflowClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        self._channel.close()

    def _unary(self, call: _calls.Unary[_Result]) -> _Result:
        try:
            response = self._unary_call(call.method(self._stubs), call.request)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        return call.unwrap(response)

    def _pager(self, paged: _calls.Paged[_Result]) -> Pager[_Result]:
        return Pager(lambda token: self._unary(paged.page(token)), paged.items_of)

    def _stream(
        self, stream: _calls.ServerStream[_Response], timeout: float | None
    ) -> Generator[_Response, None, None]:
        call = self._open(stream, timeout)
        try:
            yield from call
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        finally:
            call.cancel()  # no-op when finished; stops the stream if the caller stopped early

    # -- events --------------------------------------------------------------------

    def publish_events(self, events: Iterable[event_pb2.Event]) -> list[event_pb2.EventResult]:
        """Send one batch (at most 1,000 events); one result per event, in order.

        Retried on UNAVAILABLE: events are idempotent by id (a resent one is DUPLICATE).

        Example:
            >>> [r.outcome for r in client.publish_events([event])]  # doctest: +SKIP
            [1]
        """
        return self._unary(_calls.publish_events(events))

    def stream_events(
        self, events: Iterable[event_pb2.Event], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Generator[event_pb2.EventResult, None, None]:
        """Stream `events` in batches of `batch_size` and yield one result per event, in
        order. An acknowledged event is durable. `events` may be a lazy iterable.

        Example:
            >>> for result in client.stream_events(events, batch_size=500):  # doctest: +SKIP
            ...     if result.outcome == event_pb2.EVENT_OUTCOME_REJECTED:
            ...         print(result.event_id, result.reason)
        """
        _calls.check_batch_size(batch_size)
        requests = _calls.stream_requests(events, batch_size)
        call = self._stubs.events.StreamEvents(requests, metadata=self._metadata)
        try:
            for expected, response in enumerate(call, start=1):
                yield from _calls.acknowledged(expected, response)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        finally:
            call.cancel()  # no-op when finished; stops the stream if the caller stopped early

    def publisher(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        linger_ms: float = DEFAULT_LINGER_MS,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> EventPublisher:
        """An `EventPublisher`: `publish(event)` one at a time, sent in batches of up to
        `batch_size` after at most `linger_ms`, on one stream, resent on a new stream
        after UNAVAILABLE (up to `max_retries` times in a row). Close it before the client.

        Example:
            >>> with client.publisher(linger_ms=5) as publisher:  # doctest: +SKIP
            ...     futures = [publisher.publish(event) for event in events]
            >>> futures[0].result().outcome  # doctest: +SKIP
            1
        """
        return EventPublisher(
            lambda requests: self._stubs.events.StreamEvents(requests, metadata=self._metadata),
            batch_size=batch_size,
            linger_ms=linger_ms,
            max_in_flight=max_in_flight,
            max_retries=max_retries,
        )

    # -- rules ---------------------------------------------------------------------

    def validate_rules(self, files: Mapping[str, str]) -> rule_service_pb2.ValidateRulesResponse:
        """Check rule files (name → text) without changing anything.

        Example:
            >>> response = client.validate_rules({"demo.badge": text})  # doctest: +SKIP
            >>> response.valid, [d.rendered for d in response.diagnostics]  # doctest: +SKIP
            (True, [])
        """
        return self._unary(_calls.validate_rules(files))

    def plan_rules(self, files: Mapping[str, str]) -> rule_service_pb2.PlanRulesResponse:
        """What applying `files` would change, and how many learners the stored events
        would award per added or changed badge; nothing is changed.

        Example:
            >>> plan = client.plan_rules({"demo.badge": text})  # doctest: +SKIP
            >>> [(b.slug, b.change, b.backfill_awards) for b in plan.badges]  # doctest: +SKIP
            [('demo-graduate', 'added', 12)]
        """
        return self._unary(_calls.plan_rules(files))

    def apply_rules(
        self, files: Mapping[str, str], expected_version: int = 0
    ) -> rule_service_pb2.ApplyRulesResponse:
        """Replace the rule set in force with `files` (name → text), all or nothing.

        Raises `InvalidArgument` with `.diagnostics` when the files have errors, and
        `FailedPrecondition` when `expected_version` (0 skips the check) is stale.
        Never retried.

        Example:
            >>> client.apply_rules({"demo.badge": text}).version  # doctest: +SKIP
            1
        """
        return self._unary(_calls.apply_rules(files, expected_version))

    def get_rules(self) -> rule_service_pb2.GetRulesResponse:
        """Return the rule set in force (version 0 and no files when none was applied).

        Example:
            >>> [f.name for f in client.get_rules().files]  # doctest: +SKIP
            ['demo.badge']
        """
        return self._unary(_calls.get_rules())

    def backfill_rules(
        self,
        template_ids: Sequence[str] = (),
        *,
        dry_run: bool = False,
        timeout: float | None = None,
    ) -> Generator[rule_service_pb2.BackfillRulesResponse, None, None]:
        """Replay the event log against the rules in force (every active template, or
        `template_ids`), streaming progress; the last message has `done` set and the
        per-template `results`. No deadline unless `timeout`; stopping the iteration
        cancels the backfill's stream. Never retried.

        Example:
            >>> for update in client.backfill_rules(dry_run=True):  # doctest: +SKIP
            ...     print(update.events_replayed, update.events_total, update.done)
        """
        return self._stream(_calls.backfill_rules(template_ids, dry_run), timeout)

    # -- templates -----------------------------------------------------------------

    def list_templates(
        self, active_only: bool = False, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Pager[template_pb2.Template]:
        """Every template (ordered by id), as a pager fetching pages as needed.

        Example:
            >>> [t.id for t in client.list_templates(active_only=True)]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """
        return self._pager(_calls.list_templates(active_only, page_size))

    def get_template(self, template_id: str) -> template_pb2.Template:
        """Return one template; `NotFound` if unknown.

        Example:
            >>> client.get_template("credly:8f2b7c1e-…").active  # doctest: +SKIP
            False
        """
        return self._unary(_calls.get_template(template_id))

    def activate_template(self, template_id: str) -> template_pb2.Template:
        """Make a template count; `FailedPrecondition` if no rules give it a requirement.

        Example:
            >>> client.activate_template("credly:8f2b7c1e-…").active  # doctest: +SKIP
            True
        """
        return self._unary(_calls.activate_template(template_id))

    def deactivate_template(self, template_id: str) -> template_pb2.Template:
        """Stop a template from counting; progress and awards are kept.

        Example:
            >>> client.deactivate_template("credly:8f2b7c1e-…").active  # doctest: +SKIP
            False
        """
        return self._unary(_calls.deactivate_template(template_id))

    # -- providers and issuance -----------------------------------------------------

    def connect_provider(
        self,
        kind: str,
        organization_id: str,
        token: str,
        *,
        environment: str = "",
        base_url: str = "",
    ) -> provider_service_pb2.ConnectProviderResponse:
        """Connect a Credly organisation or an Accredible configuration; the provider is
        asked for the organisation at once, so a refused token fails here.

        Example:
            >>> client.connect_provider("credly", org_id, token).connection.name  # doctest: +SKIP
            'Demo Academy'
        """
        return self._unary(
            _calls.connect_provider(kind, organization_id, token, environment, base_url)
        )

    def list_providers(self) -> list[provider_pb2.ProviderConnection]:
        """Every connection, active or disconnected (tokens are never returned).

        Example:
            >>> [c.name for c in client.list_providers()]  # doctest: +SKIP
            ['Demo Academy']
        """
        return self._unary(_calls.list_providers())

    def disconnect_provider(self, connection_id: str) -> provider_pb2.ProviderConnection:
        """Stop issuing through a connection; its records are kept.

        Example:
            >>> client.disconnect_provider("credly:org-1").active  # doctest: +SKIP
            False
        """
        return self._unary(_calls.disconnect_provider(connection_id))

    def sync_templates(self, connection_id: str) -> provider_service_pb2.SyncTemplatesResponse:
        """Pull the connection's templates now (new ones arrive inactive).

        Example:
            >>> client.sync_templates("credly:org-1").created  # doctest: +SKIP
        """
        return self._unary(_calls.sync_templates(connection_id))

    def list_issuances(self, state: int = 0, limit: int = 0) -> list[provider_pb2.Issuance]:
        """The issuance queue (most recent last); `state` is an IssuanceState value.

        Example:
            >>> [i.id for i in client.list_issuances(limit=10)]  # doctest: +SKIP
            [1, 2]
        """
        return self._unary(_calls.list_issuances(state, limit))

    def retry_issuance(self, issuance_id: int) -> provider_pb2.Issuance:
        """Send a failed issuance again; `FailedPrecondition` if it has not failed.

        Example:
            >>> client.retry_issuance(7).attempts  # doctest: +SKIP
            0
        """
        return self._unary(_calls.retry_issuance(issuance_id))

    def provider_badges(
        self, *, learner_id: str = "", template_id: str = ""
    ) -> list[provider_pb2.ProviderBadge]:
        """The provider badges of a learner or of a template (give one), with their
        provider ids and states, including badges issued directly on the provider.

        Example:
            >>> [b.state for b in client.provider_badges(learner_id="L1")]  # doctest: +SKIP
        """
        return self._unary(_calls.provider_badges(learner_id, template_id))

    # -- awards --------------------------------------------------------------------

    def revoke_award(self, award_id: str, reason: str) -> progress_pb2.Award:
        """Revoke an award here and on the provider; processing never awards it again.

        Example:
            >>> client.revoke_award("42", "issued in error").state  # doctest: +SKIP
            2
        """
        return self._unary(_calls.revoke_award(award_id, reason))

    def grant_award(
        self,
        template_id: str,
        learner_id: str,
        reason: str,
        *,
        email: str = "",
        first_name: str = "",
        last_name: str = "",
    ) -> progress_pb2.Award:
        """Grant a badge by hand to a learner who does not hold it; `email` is needed
        for a learner badgeflow never saw. Never retried.

        Example:
            >>> client.grant_award(tid, "L9", "attended in person").origin  # doctest: +SKIP
            2
        """
        learner = _calls.learner(learner_id, email, first_name, last_name)
        return self._unary(_calls.grant_award(template_id, learner, reason))

    def reissue_award(self, award_id: str) -> award_service_pb2.ReissueAwardResponse:
        """Issue an award on the provider again; returns the award and the issuance id.

        Example:
            >>> client.reissue_award("42").issuance_id  # doctest: +SKIP
            7
        """
        return self._unary(_calls.reissue_award(award_id))

    # -- progress ------------------------------------------------------------------

    def learner_progress(self, learner_id: str) -> progress_service_pb2.GetLearnerProgressResponse:
        """Return a learner and their progress per template; `NotFound` if never seen.

        Example:
            >>> [p.percent for p in client.learner_progress("L1").progress]  # doctest: +SKIP
            [100.0]
        """
        return self._unary(_calls.learner_progress(learner_id))

    def template_progress(
        self,
        template_id: str,
        completed_only: bool = False,
        *,
        status: int = 0,
        min_percent: float = 0.0,
        updated_after: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Pager[progress_pb2.TemplateProgress]:
        """Every learner's progress on a template (ordered by learner id), as a pager.

        `status` is a ProgressStatus value, `min_percent` keeps records at or above it,
        `updated_after` (timezone-aware) keeps records changed at or after it.

        Example:
            >>> records = client.template_progress(tid, min_percent=50)  # doctest: +SKIP
            >>> [(p.learner_id, p.percent) for p in records]  # doctest: +SKIP
            [('L1', 100.0), ('L2', 50.0)]
        """
        where = _calls.ProgressFilter(completed_only, status, min_percent, updated_after)
        return self._pager(_calls.template_progress(template_id, where, page_size))

    def learner_badges(self, learner_id: str) -> progress_service_pb2.GetLearnerBadgesResponse:
        """A learner's dashboard: badges in progress, available and earned.

        Example:
            >>> [b.template_id for b in client.learner_badges("L1").earned]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """
        return self._unary(_calls.learner_badges(learner_id))

    def learner_awards(
        self, learner_id: str, *, exclude_revoked: bool = False
    ) -> progress_service_pb2.ListLearnerAwardsResponse:
        """The admin view of a learner's awards; `NotFound` if never seen.

        Example:
            >>> [a.template_id for a in client.learner_awards("L1").awards]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """
        return self._unary(_calls.learner_awards(learner_id, exclude_revoked))

    def watch_awards(
        self, learner_id: str = "", template_id: str = "", *, timeout: float | None = None
    ) -> AwardWatch:
        """Watch awards and revocations from now on; empty filters match everything.
        No deadline unless `timeout`.

        Example:
            >>> watch = client.watch_awards(template_id=tid)  # doctest: +SKIP
            >>> watch.wait_subscribed(timeout=5)  # doctest: +SKIP
            >>> for change in watch:  # doctest: +SKIP
            ...     print(change.kind, change.award.learner_id)
        """
        return AwardWatch(self._open(_calls.watch_awards(learner_id, template_id), timeout))

    # -- API keys (admin) ------------------------------------------------------------

    def create_api_key(self, name: str, role: str) -> key_service_pb2.CreateApiKeyResponse:
        """Create an API key; `role` is "publisher", "reader" or "admin". The response's
        `secret` is the whole key, returned this once only. Needs an admin key. Never
        retried.

        Example:
            >>> created = client.create_api_key("lms-prod", "publisher")  # doctest: +SKIP
            >>> created.api_key.key_id, created.secret[:4]  # doctest: +SKIP
            ('3f9a0c1d2e4b', 'bfk_')
        """
        return self._unary(_calls.create_api_key(name, role))

    def list_api_keys(self, *, include_revoked: bool = False) -> list[api_key_pb2.ApiKey]:
        """The API keys, oldest first, without their secrets. Needs an admin key.

        Example:
            >>> [(k.key_id, k.name) for k in client.list_api_keys()]  # doctest: +SKIP
            [('3f9a0c1d2e4b', 'lms-prod')]
        """
        return self._unary(_calls.list_api_keys(include_revoked))

    def revoke_api_key(self, key_id: str) -> api_key_pb2.ApiKey:
        """Revoke a key by its id; servers refuse it within their key cache's lifetime
        (30 s by default). `NotFound` for an unknown id, `FailedPrecondition` if already
        revoked. Needs an admin key.

        Example:
            >>> client.revoke_api_key("3f9a0c1d2e4b").HasField("revoke_time")  # doctest: +SKIP
            True
        """
        return self._unary(_calls.revoke_api_key(key_id))
