"""`AsyncBadgeflowClient`: the badgeflow client for asyncio, over a `grpc.aio` channel.

It has the methods of `BadgeflowClient`, as coroutines, with the same deadlines,
retries and typed exceptions. List methods return an `AsyncPager` (`async for`), and
the streams (`stream_events`, `watch_awards`, `backfill_rules`) are async iterators.

    >>> from badgeflow_client.aio import AsyncBadgeflowClient  # doctest: +SKIP
    >>> async with AsyncBadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
    ...     async for template in client.list_templates(active_only=True):
    ...         print(template.id, template.badge)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Mapping,
    Sequence,
)
from datetime import datetime
from typing import Any, TypeVar

import grpc
from badgeflow.v1 import (
    api_key_pb2,
    award_service_pb2,
    event_pb2,
    event_service_pb2,
    key_service_pb2,
    progress_pb2,
    progress_service_pb2,
    provider_pb2,
    provider_service_pb2,
    rule_service_pb2,
    template_pb2,
)

from badgeflow_client import _calls
from badgeflow_client.channel import ClientBase
from badgeflow_client.client import DEFAULT_BATCH_SIZE, DEFAULT_PAGE_SIZE
from badgeflow_client.errors import Cancelled, from_aio_call, from_rpc_error
from badgeflow_client.pagers import AsyncPager
from badgeflow_client.publisher import (
    DEFAULT_LINGER_MS,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_RETRIES,
    AsyncEventPublisher,
)

__all__ = ["AsyncAwardWatch", "AsyncBadgeflowClient"]

_Result = TypeVar("_Result")
_Response = TypeVar("_Response")


async def _event_batches(
    events: AsyncIterable[event_pb2.Event], batch_size: int
) -> AsyncIterator[event_service_pb2.StreamEventsRequest]:
    sequence, batch = 0, []
    async for event in events:
        batch.append(event)
        if len(batch) == batch_size:
            sequence += 1
            yield _calls.stream_request(sequence, batch)
            batch = []
    if batch:
        yield _calls.stream_request(sequence + 1, batch)


class AsyncAwardWatch(AsyncIterator[progress_service_pb2.WatchAwardsResponse]):
    """A live `WatchAwards` stream: `async for` the award changes, `cancel()` to stop.

    Example:
        >>> watch = client.watch_awards(learner_id="L1")  # doctest: +SKIP
        >>> await watch.wait_subscribed()  # doctest: +SKIP
        >>> async for change in watch:  # doctest: +SKIP
        ...     print(change.kind, change.award.template_id)
        ...     watch.cancel()
    """

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self._call = call
        self._cancelled = False

    def __aiter__(self) -> AsyncAwardWatch:
        return self

    async def __anext__(self) -> progress_service_pb2.WatchAwardsResponse:
        try:
            response = await self._call.read()
        except grpc.aio.AioRpcError as error:
            if self._cancelled and error.code() is grpc.StatusCode.CANCELLED:
                raise StopAsyncIteration from None
            raise from_rpc_error(error) from error
        except asyncio.CancelledError:
            if self._cancelled:  # our cancel(), not the task's: the watch simply ends
                raise StopAsyncIteration from None
            raise
        if response is grpc.aio.EOF:
            raise StopAsyncIteration
        return response  # type: ignore[no-any-return]

    async def wait_subscribed(self) -> None:
        """Return once the server confirms the subscription is live: award changes
        committed after that are never missed. Raises the call's `BadgeflowError` if the
        watch failed (e.g. the server is unreachable); bound it with `asyncio.timeout`.
        """
        await self._call.initial_metadata()  # returns (empty) when the call failed
        if self._call.done():
            if self._cancelled:
                raise Cancelled("the award watch was cancelled")
            raise await from_aio_call(self._call)

    def cancel(self) -> None:
        """Stop the watch; iteration then ends."""
        self._cancelled = True
        self._call.cancel()


class AsyncBadgeflowClient(ClientBase):
    """An asyncio badgeflow client owning one `grpc.aio` channel to `target`.

    Use it with `async with` (or `await close()`); the options are those of
    `BadgeflowClient`. Create it inside the event loop that uses it.

    Example:
        >>> async with AsyncBadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
        ...     dashboard = await client.learner_badges("L1")
        ...     print([badge.name for badge in dashboard.earned])
    """

    _grpc = grpc.aio

    async def __aenter__(self) -> AsyncBadgeflowClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        await self._channel.close()

    async def _unary(self, call: _calls.Unary[_Result]) -> _Result:
        try:
            response = await self._unary_call(call.method(self._stubs), call.request)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from error
        return call.unwrap(response)

    def _pager(self, paged: _calls.Paged[_Result]) -> AsyncPager[_Result]:
        return AsyncPager(lambda token: self._unary(paged.page(token)), paged.items_of)

    async def _read(self, call: Any) -> AsyncGenerator[Any, None]:
        try:
            async for response in call:
                yield response
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from error
        finally:
            call.cancel()  # no-op when finished; stops the stream if the caller stopped early

    def _stream(
        self, stream: _calls.ServerStream[_Response], timeout: float | None
    ) -> AsyncGenerator[_Response, None]:
        return self._read(self._open(stream, timeout))

    # -- events --------------------------------------------------------------------

    async def publish_events(
        self, events: Iterable[event_pb2.Event]
    ) -> list[event_pb2.EventResult]:
        """Send one batch (at most 1,000 events); see `BadgeflowClient.publish_events`.

        Example:
            >>> [r.outcome for r in await client.publish_events([event])]  # doctest: +SKIP
            [1]
        """
        return await self._unary(_calls.publish_events(events))

    async def stream_events(
        self,
        events: Iterable[event_pb2.Event] | AsyncIterable[event_pb2.Event],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> AsyncGenerator[event_pb2.EventResult, None]:
        """Stream `events` (an iterable or an async iterable) in batches of `batch_size`
        and yield one result per event, in order. An acknowledged event is durable.

        Example:
            >>> async for result in client.stream_events(events):  # doctest: +SKIP
            ...     print(result.event_id, result.outcome)
        """
        _calls.check_batch_size(batch_size)
        if isinstance(events, AsyncIterable):
            requests: Any = _event_batches(events, batch_size)
        else:
            requests = _calls.stream_requests(events, batch_size)
        call = self._stubs.events.StreamEvents(requests, metadata=self._metadata)
        async with contextlib.aclosing(self._read(call)) as responses:  # cancels when we stop
            expected = 0
            async for response in responses:
                expected += 1
                for result in _calls.acknowledged(expected, response):
                    yield result

    def publisher(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        linger_ms: float = DEFAULT_LINGER_MS,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> AsyncEventPublisher:
        """An `AsyncEventPublisher`; see `BadgeflowClient.publisher`. Not a coroutine:
        the publisher opens its stream with the first event.

        Example:
            >>> async with client.publisher() as publisher:  # doctest: +SKIP
            ...     future = await publisher.publish(event)
            >>> (await future).outcome  # doctest: +SKIP
            1
        """
        return AsyncEventPublisher(
            lambda requests: self._stubs.events.StreamEvents(requests, metadata=self._metadata),
            batch_size=batch_size,
            linger_ms=linger_ms,
            max_in_flight=max_in_flight,
            max_retries=max_retries,
        )

    # -- rules ---------------------------------------------------------------------

    async def validate_rules(
        self, files: Mapping[str, str]
    ) -> rule_service_pb2.ValidateRulesResponse:
        """Check rule files (name → text) without changing anything.

        Example:
            >>> (await client.validate_rules({"demo.badge": text})).valid  # doctest: +SKIP
            True
        """
        return await self._unary(_calls.validate_rules(files))

    async def plan_rules(self, files: Mapping[str, str]) -> rule_service_pb2.PlanRulesResponse:
        """What applying `files` would change; nothing is changed.

        Example:
            >>> [b.change for b in (await client.plan_rules(files)).badges]  # doctest: +SKIP
            ['added']
        """
        return await self._unary(_calls.plan_rules(files))

    async def apply_rules(
        self, files: Mapping[str, str], expected_version: int = 0
    ) -> rule_service_pb2.ApplyRulesResponse:
        """Replace the rule set in force with `files`; see `BadgeflowClient.apply_rules`.

        Example:
            >>> (await client.apply_rules({"demo.badge": text})).version  # doctest: +SKIP
            1
        """
        return await self._unary(_calls.apply_rules(files, expected_version))

    async def get_rules(self) -> rule_service_pb2.GetRulesResponse:
        """Return the rule set in force.

        Example:
            >>> (await client.get_rules()).version  # doctest: +SKIP
            1
        """
        return await self._unary(_calls.get_rules())

    def backfill_rules(
        self,
        template_ids: Sequence[str] = (),
        *,
        dry_run: bool = False,
        timeout: float | None = None,
    ) -> AsyncGenerator[rule_service_pb2.BackfillRulesResponse, None]:
        """Replay the event log against the rules in force, streaming progress; the last
        message has `done` set and the per-template `results`. Never retried.

        Example:
            >>> async for update in client.backfill_rules(dry_run=True):  # doctest: +SKIP
            ...     print(update.events_replayed, update.done)
        """
        return self._stream(_calls.backfill_rules(template_ids, dry_run), timeout)

    # -- templates -----------------------------------------------------------------

    def list_templates(
        self, active_only: bool = False, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncPager[template_pb2.Template]:
        """Every template (ordered by id), as an async pager.

        Example:
            >>> [t.id async for t in client.list_templates()]  # doctest: +SKIP
            ['credly:8f2b7c1e-0000-4000-8000-000000000001']
        """
        return self._pager(_calls.list_templates(active_only, page_size))

    async def get_template(self, template_id: str) -> template_pb2.Template:
        """Return one template; `NotFound` if unknown.

        Example:
            >>> (await client.get_template(tid)).active  # doctest: +SKIP
            False
        """
        return await self._unary(_calls.get_template(template_id))

    async def activate_template(self, template_id: str) -> template_pb2.Template:
        """Make a template count; `FailedPrecondition` if no rules give it a requirement.

        Example:
            >>> (await client.activate_template(tid)).active  # doctest: +SKIP
            True
        """
        return await self._unary(_calls.activate_template(template_id))

    async def deactivate_template(self, template_id: str) -> template_pb2.Template:
        """Stop a template from counting; progress and awards are kept.

        Example:
            >>> (await client.deactivate_template(tid)).active  # doctest: +SKIP
            False
        """
        return await self._unary(_calls.deactivate_template(template_id))

    # -- providers and issuance -----------------------------------------------------

    async def connect_provider(
        self,
        kind: str,
        organization_id: str,
        token: str,
        *,
        environment: str = "",
        base_url: str = "",
    ) -> provider_service_pb2.ConnectProviderResponse:
        """Connect a Credly organisation or an Accredible configuration.

        Example:
            >>> connected = await client.connect_provider("credly", org, token)  # doctest: +SKIP
            >>> connected.connection.name  # doctest: +SKIP
            'Demo Academy'
        """
        return await self._unary(
            _calls.connect_provider(kind, organization_id, token, environment, base_url)
        )

    async def list_providers(self) -> list[provider_pb2.ProviderConnection]:
        """Every connection, active or disconnected.

        Example:
            >>> [c.name for c in await client.list_providers()]  # doctest: +SKIP
            ['Demo Academy']
        """
        return await self._unary(_calls.list_providers())

    async def disconnect_provider(self, connection_id: str) -> provider_pb2.ProviderConnection:
        """Stop issuing through a connection; its records are kept.

        Example:
            >>> (await client.disconnect_provider(connection_id)).active  # doctest: +SKIP
            False
        """
        return await self._unary(_calls.disconnect_provider(connection_id))

    async def sync_templates(
        self, connection_id: str
    ) -> provider_service_pb2.SyncTemplatesResponse:
        """Pull the connection's templates now.

        Example:
            >>> await client.sync_templates(connection_id)  # doctest: +SKIP
        """
        return await self._unary(_calls.sync_templates(connection_id))

    async def list_issuances(self, state: int = 0, limit: int = 0) -> list[provider_pb2.Issuance]:
        """The issuance queue (most recent last).

        Example:
            >>> [i.id for i in await client.list_issuances(limit=10)]  # doctest: +SKIP
            [1, 2]
        """
        return await self._unary(_calls.list_issuances(state, limit))

    async def retry_issuance(self, issuance_id: int) -> provider_pb2.Issuance:
        """Send a failed issuance again.

        Example:
            >>> (await client.retry_issuance(7)).attempts  # doctest: +SKIP
            0
        """
        return await self._unary(_calls.retry_issuance(issuance_id))

    async def provider_badges(
        self, *, learner_id: str = "", template_id: str = ""
    ) -> list[provider_pb2.ProviderBadge]:
        """The provider badges of a learner or of a template.

        Example:
            >>> await client.provider_badges(learner_id="L1")  # doctest: +SKIP
        """
        return await self._unary(_calls.provider_badges(learner_id, template_id))

    # -- awards --------------------------------------------------------------------

    async def revoke_award(self, award_id: str, reason: str) -> progress_pb2.Award:
        """Revoke an award here and on the provider. Never retried.

        Example:
            >>> (await client.revoke_award("42", "issued in error")).state  # doctest: +SKIP
            2
        """
        return await self._unary(_calls.revoke_award(award_id, reason))

    async def grant_award(
        self,
        template_id: str,
        learner_id: str,
        reason: str,
        *,
        email: str = "",
        first_name: str = "",
        last_name: str = "",
    ) -> progress_pb2.Award:
        """Grant a badge by hand; see `BadgeflowClient.grant_award`. Never retried.

        Example:
            >>> (await client.grant_award(tid, "L9", "attended")).origin  # doctest: +SKIP
            2
        """
        learner = _calls.learner(learner_id, email, first_name, last_name)
        return await self._unary(_calls.grant_award(template_id, learner, reason))

    async def reissue_award(self, award_id: str) -> award_service_pb2.ReissueAwardResponse:
        """Issue an award on the provider again. Never retried.

        Example:
            >>> (await client.reissue_award("42")).issuance_id  # doctest: +SKIP
            7
        """
        return await self._unary(_calls.reissue_award(award_id))

    # -- progress ------------------------------------------------------------------

    async def learner_progress(
        self, learner_id: str
    ) -> progress_service_pb2.GetLearnerProgressResponse:
        """Return a learner and their progress per template; `NotFound` if never seen.

        Example:
            >>> response = await client.learner_progress("L1")  # doctest: +SKIP
            >>> [p.percent for p in response.progress]  # doctest: +SKIP
            [100.0]
        """
        return await self._unary(_calls.learner_progress(learner_id))

    def template_progress(
        self,
        template_id: str,
        completed_only: bool = False,
        *,
        status: int = 0,
        min_percent: float = 0.0,
        updated_after: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncPager[progress_pb2.TemplateProgress]:
        """Every learner's progress on a template, as an async pager; the filters are
        those of `BadgeflowClient.template_progress`.

        Example:
            >>> [p.learner_id async for p in client.template_progress(tid)]  # doctest: +SKIP
            ['L1']
        """
        where = _calls.ProgressFilter(completed_only, status, min_percent, updated_after)
        return self._pager(_calls.template_progress(template_id, where, page_size))

    async def learner_badges(
        self, learner_id: str
    ) -> progress_service_pb2.GetLearnerBadgesResponse:
        """A learner's dashboard: badges in progress, available and earned.

        Example:
            >>> dashboard = await client.learner_badges("L1")  # doctest: +SKIP
            >>> [b.template_id for b in dashboard.earned]  # doctest: +SKIP
        """
        return await self._unary(_calls.learner_badges(learner_id))

    async def learner_awards(
        self, learner_id: str, *, exclude_revoked: bool = False
    ) -> progress_service_pb2.ListLearnerAwardsResponse:
        """The admin view of a learner's awards; `NotFound` if never seen.

        Example:
            >>> len((await client.learner_awards("L1")).awards)  # doctest: +SKIP
            1
        """
        return await self._unary(_calls.learner_awards(learner_id, exclude_revoked))

    def watch_awards(
        self, learner_id: str = "", template_id: str = "", *, timeout: float | None = None
    ) -> AsyncAwardWatch:
        """Watch awards and revocations from now on; empty filters match everything.

        Example:
            >>> watch = client.watch_awards(template_id=tid)  # doctest: +SKIP
            >>> await watch.wait_subscribed()  # doctest: +SKIP
        """
        return AsyncAwardWatch(self._open(_calls.watch_awards(learner_id, template_id), timeout))

    # -- API keys (admin) ------------------------------------------------------------

    async def create_api_key(self, name: str, role: str) -> key_service_pb2.CreateApiKeyResponse:
        """Create an API key ("publisher", "reader" or "admin"); `secret` is shown once.

        Example:
            >>> created = await client.create_api_key("lms-prod", "publisher")  # doctest: +SKIP
            >>> created.secret[:4]  # doctest: +SKIP
            'bfk_'
        """
        return await self._unary(_calls.create_api_key(name, role))

    async def list_api_keys(self, *, include_revoked: bool = False) -> list[api_key_pb2.ApiKey]:
        """The API keys, oldest first, without their secrets.

        Example:
            >>> [k.name for k in await client.list_api_keys()]  # doctest: +SKIP
            ['lms-prod']
        """
        return await self._unary(_calls.list_api_keys(include_revoked))

    async def revoke_api_key(self, key_id: str) -> api_key_pb2.ApiKey:
        """Revoke a key by its id; refused by servers within their key cache's lifetime.

        Example:
            >>> (await client.revoke_api_key("3f9a0c1d2e4b")).name  # doctest: +SKIP
            'lms-prod'
        """
        return await self._unary(_calls.revoke_api_key(key_id))
