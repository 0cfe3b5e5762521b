"""`BadgeflowClient`: a typed, synchronous facade over the badgeflow gRPC services.

Every method raises a `BadgeflowError` subclass (see `badgeflow_client.errors`) instead of
a raw `grpc.RpcError`, and list methods follow `next_page_token` through every page.

    >>> from badgeflow_client import BadgeflowClient  # doctest: +SKIP
    >>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
    ...     for template in client.list_templates(active_only=True):
    ...         print(template.id, template.badge)
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import grpc
from badgeflow.v1 import (
    award_service_pb2,
    award_service_pb2_grpc,
    common_pb2,
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    progress_pb2,
    progress_service_pb2,
    progress_service_pb2_grpc,
    provider_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
    rule_service_pb2,
    rule_service_pb2_grpc,
    rules_pb2,
    template_pb2,
    template_service_pb2,
    template_service_pb2_grpc,
)

from badgeflow_client.errors import BadgeflowError, from_rpc_error
from badgeflow_client.pagers import Pager

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RPC_TIMEOUT",
    "AwardWatch",
    "BadgeflowClient",
]

DEFAULT_RPC_TIMEOUT = 10.0
"""Seconds a unary call may take; streams (events, award watches) have no deadline."""
DEFAULT_BATCH_SIZE = 100
"""Events per StreamEventsRequest; the server accepts at most 1,000."""
DEFAULT_PAGE_SIZE = 100
"""Items asked for per page by the list methods."""

_Response = TypeVar("_Response")


def _rule_files(files: Mapping[str, str]) -> list[rules_pb2.RuleFile]:
    return [rules_pb2.RuleFile(name=name, content=content) for name, content in files.items()]


def _batches(events: Iterable[event_pb2.Event], size: int) -> Iterator[list[event_pb2.Event]]:
    iterator = iter(events)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


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
                raise BadgeflowError(
                    "the award watch was cancelled", code=grpc.StatusCode.CANCELLED
                )
            raise from_rpc_error(self._call)

    def cancel(self) -> None:
        """Stop the watch; iteration then ends."""
        self._call.cancel()


class BadgeflowClient:
    """A synchronous badgeflow client owning one insecure channel to `target`.

    Use it as a context manager (or call `close()`). `timeout` is the deadline, in
    seconds, of every unary call.

    Example:
        >>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
        ...     applied = client.apply_rules({"rules/demo.badge": open("demo.badge").read()})
        ...     client.activate_template(applied.created_template_ids[0])
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float = DEFAULT_RPC_TIMEOUT,
        api_key: str = "",
        tls: bool = False,
        root_certificates: bytes | None = None,
        retries: bool = True,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        if tls:
            credentials = grpc.ssl_channel_credentials(root_certificates)
            self._channel = grpc.secure_channel(target, credentials)
        else:
            self._channel = grpc.insecure_channel(target)
        self._events = event_service_pb2_grpc.EventServiceStub(self._channel)
        self._rules = rule_service_pb2_grpc.RuleServiceStub(self._channel)
        self._templates = template_service_pb2_grpc.TemplateServiceStub(self._channel)
        self._progress = progress_service_pb2_grpc.ProgressServiceStub(self._channel)
        self._providers = provider_service_pb2_grpc.ProviderServiceStub(self._channel)
        self._awards = award_service_pb2_grpc.AwardServiceStub(self._channel)

    def __enter__(self) -> BadgeflowClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        self._channel.close()

    def _call(self, method: Callable[..., _Response], request: Any) -> _Response:
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

    # -- events --------------------------------------------------------------------

    def publish_events(self, events: Iterable[event_pb2.Event]) -> list[event_pb2.EventResult]:
        """Send one batch (at most 1,000 events); one result per event, in order.

        Example:
            >>> [r.outcome for r in client.publish_events([event])]  # doctest: +SKIP
            [1]
        """
        request = event_service_pb2.PublishEventsRequest(events=list(events))
        return list(self._call(self._events.PublishEvents, request).results)

    def stream_events(
        self, events: Iterable[event_pb2.Event], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[event_pb2.EventResult]:
        """Stream `events` in batches of `batch_size` and yield one result per event, in
        order. An acknowledged event is durable. `events` may be a lazy iterable.

        Example:
            >>> for result in client.stream_events(events, batch_size=500):  # doctest: +SKIP
            ...     if result.outcome == event_pb2.EVENT_OUTCOME_REJECTED:
            ...         print(result.event_id, result.reason)
        """
        if not 1 <= batch_size <= 1000:
            raise ValueError(f"batch_size must be between 1 and 1000, not {batch_size}")
        requests = (
            event_service_pb2.StreamEventsRequest(sequence=sequence, events=batch)
            for sequence, batch in enumerate(_batches(events, batch_size), start=1)
        )
        call = self._events.StreamEvents(requests, metadata=self._metadata)
        try:
            for expected, response in enumerate(call, start=1):
                if response.sequence != expected:
                    raise BadgeflowError(
                        f"acknowledgement out of order: got batch {response.sequence}, "
                        f"expected {expected}",
                        code=grpc.StatusCode.INTERNAL,
                    )
                yield from response.results
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        finally:
            call.cancel()  # no-op when finished; stops the stream if the caller stopped early

    # -- rules ---------------------------------------------------------------------

    def validate_rules(self, files: Mapping[str, str]) -> rule_service_pb2.ValidateRulesResponse:
        """Check rule files (name → text) without changing anything.

        Example:
            >>> response = client.validate_rules({"demo.badge": text})  # doctest: +SKIP
            >>> response.valid, [d.rendered for d in response.diagnostics]  # doctest: +SKIP
            (True, [])
        """
        request = rule_service_pb2.ValidateRulesRequest(files=_rule_files(files))
        return self._call(self._rules.ValidateRules, request)

    def plan_rules(self, files: Mapping[str, str]) -> rule_service_pb2.PlanRulesResponse:
        """What applying `files` would change, and how many learners the stored events
        would award per added or changed badge; nothing is changed.

        Example:
            >>> plan = client.plan_rules({"demo.badge": text})  # doctest: +SKIP
            >>> [(b.slug, b.change, b.backfill_awards) for b in plan.badges]  # doctest: +SKIP
            [('demo-graduate', 'added', 12)]
        """
        request = rule_service_pb2.PlanRulesRequest(files=_rule_files(files))
        return self._call(self._rules.PlanRules, request)

    def apply_rules(
        self, files: Mapping[str, str], expected_version: int = 0
    ) -> rule_service_pb2.ApplyRulesResponse:
        """Replace the rule set in force with `files` (name → text), all or nothing.

        Raises `InvalidArgument` with `.diagnostics` when the files have errors, and
        `FailedPrecondition` when `expected_version` (0 skips the check) is stale.

        Example:
            >>> client.apply_rules({"demo.badge": text}).version  # doctest: +SKIP
            1
        """
        request = rule_service_pb2.ApplyRulesRequest(
            files=_rule_files(files), expected_version=expected_version
        )
        return self._call(self._rules.ApplyRules, request)

    def get_rules(self) -> rule_service_pb2.GetRulesResponse:
        """Return the rule set in force (version 0 and no files when none was applied).

        Example:
            >>> [f.name for f in client.get_rules().files]  # doctest: +SKIP
            ['demo.badge']
        """
        return self._call(self._rules.GetRules, rule_service_pb2.GetRulesRequest())

    def backfill_rules(
        self, template_ids: Sequence[str] = (), *, dry_run: bool = False
    ) -> Iterator[rule_service_pb2.BackfillRulesResponse]:
        """Replay the event log against the rules in force, streaming progress; the last
        message has `done` set and the per-template `results`. No deadline; stopping the
        iteration cancels the backfill's stream.

        Example:
            >>> for update in client.backfill_rules(dry_run=True):  # doctest: +SKIP
            ...     print(update.events_replayed, update.events_total, update.done)
        """
        request = rule_service_pb2.BackfillRulesRequest(
            template_ids=list(template_ids), dry_run=dry_run
        )
        call = self._rules.BackfillRules(request, metadata=self._metadata)
        try:
            yield from call
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        finally:
            call.cancel()

    # -- templates -----------------------------------------------------------------

    def list_templates(
        self, active_only: bool = False, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Pager[template_pb2.Template]:
        """Every template (ordered by id), as a pager fetching pages as needed.

        Example:
            >>> [t.id for t in client.list_templates(active_only=True)]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """

        def fetch(token: str) -> template_service_pb2.ListTemplatesResponse:
            request = template_service_pb2.ListTemplatesRequest(
                page=common_pb2.PageRequest(page_size=page_size, page_token=token),
                active_only=active_only,
            )
            return self._call(self._templates.ListTemplates, request)

        return Pager(fetch, lambda page: page.templates)

    def get_template(self, template_id: str) -> template_pb2.Template:
        """Return one template; `NotFound` if unknown.

        Example:
            >>> client.get_template("credly:8f2b7c1e-…").active  # doctest: +SKIP
            False
        """
        request = template_service_pb2.GetTemplateRequest(template_id=template_id)
        return self._call(self._templates.GetTemplate, request).template

    def activate_template(self, template_id: str) -> template_pb2.Template:
        """Make a template count; `FailedPrecondition` if no rules give it a requirement.

        Example:
            >>> client.activate_template("credly:8f2b7c1e-…").active  # doctest: +SKIP
            True
        """
        request = template_service_pb2.ActivateTemplateRequest(template_id=template_id)
        return self._call(self._templates.ActivateTemplate, request).template

    def deactivate_template(self, template_id: str) -> template_pb2.Template:
        """Stop a template from counting; progress and awards are kept.

        Example:
            >>> client.deactivate_template("credly:8f2b7c1e-…").active  # doctest: +SKIP
            False
        """
        request = template_service_pb2.DeactivateTemplateRequest(template_id=template_id)
        return self._call(self._templates.DeactivateTemplate, request).template

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
        request = provider_service_pb2.ConnectProviderRequest(
            kind=kind,
            organization_id=organization_id,
            token=token,
            environment=environment,
            base_url=base_url,
        )
        return self._call(self._providers.ConnectProvider, request)

    def list_providers(self) -> list[provider_pb2.ProviderConnection]:
        """Every connection, active or disconnected (tokens are never returned)."""
        response = self._call(
            self._providers.ListProviders, provider_service_pb2.ListProvidersRequest()
        )
        return list(response.connections)

    def disconnect_provider(self, connection_id: str) -> provider_pb2.ProviderConnection:
        """Stop issuing through a connection; its records are kept."""
        request = provider_service_pb2.DisconnectProviderRequest(connection_id=connection_id)
        return self._call(self._providers.DisconnectProvider, request).connection

    def sync_templates(self, connection_id: str) -> provider_service_pb2.SyncTemplatesResponse:
        """Pull the connection's templates now (new ones arrive inactive)."""
        request = provider_service_pb2.SyncTemplatesRequest(connection_id=connection_id)
        return self._call(self._providers.SyncTemplates, request)

    def list_issuances(self, state: int = 0, limit: int = 0) -> list[provider_pb2.Issuance]:
        """The issuance queue (most recent last); `state` is an IssuanceState value."""
        request = provider_service_pb2.ListIssuancesRequest(state=state, limit=limit)
        return list(self._call(self._providers.ListIssuances, request).issuances)

    def retry_issuance(self, issuance_id: int) -> provider_pb2.Issuance:
        """Send a failed issuance again; `FailedPrecondition` if it has not failed."""
        request = provider_service_pb2.RetryIssuanceRequest(issuance_id=issuance_id)
        return self._call(self._providers.RetryIssuance, request).issuance

    def provider_badges(
        self, *, learner_id: str = "", template_id: str = ""
    ) -> list[provider_pb2.ProviderBadge]:
        """The provider badges of a learner or of a template (give one), with their
        provider ids and states, including badges issued directly on the provider."""
        request = provider_service_pb2.ListProviderBadgesRequest(
            learner_id=learner_id, template_id=template_id
        )
        return list(self._call(self._providers.ListProviderBadges, request).badges)

    def revoke_award(self, award_id: str, reason: str) -> progress_pb2.Award:
        """Revoke an award here and on the provider; processing never awards it again.

        Example:
            >>> client.revoke_award("42", "issued in error").state  # doctest: +SKIP
            2
        """
        request = award_service_pb2.RevokeAwardRequest(award_id=award_id, reason=reason)
        return self._call(self._awards.RevokeAward, request).award

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
        """Grant a badge by hand (never retried: it is not idempotent).

        Example:
            >>> client.grant_award(tid, "L9", "attended in person").origin  # doctest: +SKIP
            2
        """
        learner = event_pb2.Learner(
            id=learner_id, email=email, first_name=first_name, last_name=last_name
        )
        request = award_service_pb2.GrantAwardRequest(
            template_id=template_id, learner_id=learner_id, reason=reason, learner=learner
        )
        return self._call(self._awards.GrantAward, request).award

    def reissue_award(self, award_id: str) -> award_service_pb2.ReissueAwardResponse:
        """Issue an award on the provider again; returns the award and the issuance id.

        Example:
            >>> client.reissue_award("42").issuance_id  # doctest: +SKIP
            7
        """
        request = award_service_pb2.ReissueAwardRequest(award_id=award_id)
        return self._call(self._awards.ReissueAward, request)

    # -- progress and awards -------------------------------------------------------

    def learner_progress(self, learner_id: str) -> progress_service_pb2.GetLearnerProgressResponse:
        """Return a learner and their progress per template; `NotFound` if never seen.

        Example:
            >>> [p.percent for p in client.learner_progress("L1").progress]  # doctest: +SKIP
            [100.0]
        """
        request = progress_service_pb2.GetLearnerProgressRequest(learner_id=learner_id)
        return self._call(self._progress.GetLearnerProgress, request)

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
            >>> records = client.template_progress(tid, completed_only=True)  # doctest: +SKIP
            >>> [p.learner_id for p in records]  # doctest: +SKIP
            ['L1']
        """

        def fetch(token: str) -> progress_service_pb2.ListTemplateProgressResponse:
            request = progress_service_pb2.ListTemplateProgressRequest(
                template_id=template_id,
                page=common_pb2.PageRequest(page_size=page_size, page_token=token),
                completed_only=completed_only,
                status=status,  # type: ignore[arg-type]
                min_percent=min_percent,
            )
            if updated_after is not None:
                request.updated_after.FromDatetime(updated_after)
            return self._call(self._progress.ListTemplateProgress, request)

        return Pager(fetch, lambda page: page.records)

    def learner_badges(self, learner_id: str) -> progress_service_pb2.GetLearnerBadgesResponse:
        """A learner's dashboard: badges in progress, available and earned.

        Example:
            >>> [b.template_id for b in client.learner_badges("L1").earned]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """
        request = progress_service_pb2.GetLearnerBadgesRequest(learner_id=learner_id)
        return self._call(self._progress.GetLearnerBadges, request)

    def learner_awards(
        self, learner_id: str, *, exclude_revoked: bool = False
    ) -> progress_service_pb2.ListLearnerAwardsResponse:
        """The admin view of a learner's awards; `NotFound` if never seen.

        Example:
            >>> [a.template_id for a in client.learner_awards("L1").awards]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """
        request = progress_service_pb2.ListLearnerAwardsRequest(
            learner_id=learner_id, exclude_revoked=exclude_revoked
        )
        return self._call(self._progress.ListLearnerAwards, request)

    def watch_awards(self, learner_id: str = "", template_id: str = "") -> AwardWatch:
        """Watch awards and revocations from now on; empty filters match everything.

        Example:
            >>> watch = client.watch_awards(template_id=tid)  # doctest: +SKIP
            >>> watch.wait_subscribed(timeout=5)  # doctest: +SKIP
            >>> for change in watch:  # doctest: +SKIP
            ...     print(change.kind, change.award.learner_id)
        """
        request = progress_service_pb2.WatchAwardsRequest(
            learner_id=learner_id, template_id=template_id
        )
        return AwardWatch(self._progress.WatchAwards(request, metadata=self._metadata))
