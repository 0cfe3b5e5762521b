"""The Credly webhook receiver: an ASGI app serving `POST /webhooks/credly/<token>`.

Example::

    app = build_webhook_app(
        runner, registry, known_connections, on_change=rebuild_rules, token=webhook_token
    )
    uvicorn.Server(uvicorn.Config(app, host="0.0.0.0", port=8080)).serve()

Credly signs nothing (see /work/shared/providers.md 2.7), so the URL itself is a secret:
its last segment must equal the configured token (`BADGEFLOW_WEBHOOK_TOKEN`, compared in
constant time), else the answer is a 404 like any unknown path, before the body is read.
No token configured refuses every webhook. Even with the right URL the POSTed body is only a
hint: it must name an organisation of an active connection, and then the event is
re-fetched by id with OUR token and only the re-fetched event is acted on. A forged id
is a 404 from Credly and does nothing. The answer comes at once (Credly waits only "a
short time"); the work happens in the background. Delivery is at least once: an event
id is processed once per connection (`webhook_events`, migration 0005).

Answers:

- 200 `{"status": "accepted"}`: well-formed, from a known organisation; processed in the
  background.
- 200 `{"status": "ignored"}`: well-formed, known organisation, an event type badgeflow
  does not act on (pending-badge notifications, privacy changes).
- 400 `{"error": ...}`: not a JSON object with string `id`, `organization_id` and
  `event_type`. Credly always sends those keys, so this is not Credly; a 400 also makes a
  broken proxy in between show up as failed deliveries in Credly's webhook log.
- 404 `{"error": "unknown organization"}`: no active connection for that organisation.
  Not a 200: Credly keeps retrying failed deliveries for up to 25 days, so events sent
  while a connection is being set up (or briefly disconnected) arrive once it is active,
  and a misdirected webhook shows as failing in the organisation's Credly settings.
- 503 `{"error": "connection not loaded"}`: the organisation is known but its client is
  not loaded yet (start-up, reconnect); Credly retries.
- 404 for any other path (a missing or wrong token included), 405 for another method,
  413 for a body over 64 KiB.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from server.providers.base import BadgeProvider, ProviderEvent
from server.providers.errors import (
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderTransportError,
)
from server.reconcile import apply_provider_badge
from server.store.connections import get_connection
from server.store.sync import record_webhook_event, webhook_event_processed
from server.sync import sync_connection
from server.transactions import TransactionRunner

__all__ = [
    "BADGE_EVENTS",
    "CREDLY_WEBHOOK_PATH",
    "TEMPLATE_EVENTS",
    "ClientSource",
    "WebhookApp",
    "build_webhook_app",
]

CREDLY_WEBHOOK_PATH = "/webhooks/credly"
BADGE_EVENTS = frozenset({"badge.created", "badge.state.changed", "badge.deleted"})
TEMPLATE_EVENTS = frozenset(
    {"badge_template.created", "badge_template.changed", "badge_template.deleted"}
)
MAX_BODY_BYTES = 64 * 1024
MAX_ID_LENGTH = 255
DEFAULT_FETCH_ATTEMPTS = 3
DEFAULT_FETCH_RETRY_SECONDS = 1.0

_log = logging.getLogger("badgeflow.webhooks")

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ClientSource(Protocol):
    """What the receiver needs of `ProviderRegistry`."""

    def client(self, connection_id: str) -> BadgeProvider | None: ...


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def build_webhook_app(
    runner: TransactionRunner,
    registry: ClientSource,
    known_connections: Callable[[], Mapping[str, str]],
    on_change: Callable[[], Awaitable[None]] | None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    token: str = "",
) -> WebhookApp:
    """`known_connections()` maps a Credly organisation id to the id of its ACTIVE
    connection; it is called per request, so connecting and disconnecting take effect at
    once. `on_change` runs after a template event re-synced a connection. `token` is the
    URL's secret segment; empty refuses every request until `protect` sets one."""
    app = WebhookApp(runner, registry, known_connections, on_change, clock=clock)
    app.protect(token)
    return app


class WebhookApp:
    """The ASGI callable. `drain()` waits for the background work started so far;
    `aclose()` (also run at lifespan shutdown) cancels what is still running."""

    def __init__(
        self,
        runner: TransactionRunner,
        registry: ClientSource,
        known_connections: Callable[[], Mapping[str, str]],
        on_change: Callable[[], Awaitable[None]] | None,
        *,
        clock: Callable[[], datetime],
        fetch_attempts: int = DEFAULT_FETCH_ATTEMPTS,
        fetch_retry_seconds: float = DEFAULT_FETCH_RETRY_SECONDS,
    ) -> None:
        self._runner = runner
        self._registry = registry
        self._known = known_connections
        self._on_change = on_change
        self._clock = clock
        self._fetch_attempts = fetch_attempts
        self._fetch_retry = fetch_retry_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: set[tuple[str, str]] = set()
        self._token = b""

    def protect(self, token: str) -> None:
        """Serve only `/webhooks/credly/<token>`; an empty token refuses every request."""
        self._token = token.encode()

    def _authentic(self, path: str) -> bool:
        prefix = CREDLY_WEBHOOK_PATH + "/"
        if not self._token or not path.startswith(prefix):
            return False
        return hmac.compare_digest(path[len(prefix) :].encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            try:
                status, body = await self._receive(scope, receive)
            except _Refused as refused:
                status, body = refused.status, {"error": refused.reason}
            await _respond(send, status, body)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the request -------------------------------------------------------------------

    async def _receive(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
        if not self._authentic(scope["path"]):
            raise _Refused(404, "not found")
        if scope["method"] != "POST":
            raise _Refused(405, "method not allowed: POST only")
        event_id, organization_id, event_type = _notification(await _read_body(receive))
        connection_id = self._known().get(organization_id)
        if connection_id is None:
            raise _Refused(404, "unknown organization")
        if event_type not in BADGE_EVENTS | TEMPLATE_EVENTS:
            return 200, {"status": "ignored"}
        client = self._registry.client(connection_id)
        if client is None:
            raise _Refused(503, "connection not loaded")
        self._spawn(self._process(connection_id, client, event_id))
        return 200, {"status": "accepted"}

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the background work -----------------------------------------------------------

    async def _process(self, connection_id: str, client: BadgeProvider, event_id: str) -> None:
        key = (connection_id, event_id)
        if key in self._inflight:
            return  # a concurrent delivery of the same event is being handled
        self._inflight.add(key)
        context = {"connection_id": connection_id, "event_id": event_id}
        try:
            if await self._runner.read(lambda s: webhook_event_processed(s, *key)):
                _log.info("webhook event already processed", extra=context)
                return
            event = await self._fetch(client, event_id)
            await self._act(connection_id, client, event)
        except ProviderNotFound:
            # Credly does not know it under our token: not a real event of this org.
            _log.warning("webhook event not found with our token; ignored", extra=context)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("webhook event processing failed", extra=context)
        finally:
            self._inflight.discard(key)

    async def _fetch(self, client: BadgeProvider, event_id: str) -> ProviderEvent:
        for attempt in range(1, self._fetch_attempts + 1):
            try:
                return await client.fetch_event(event_id)
            except (ProviderTransportError, ProviderOutcomeUnknown) as error:
                if attempt == self._fetch_attempts:
                    raise
                delay = self._fetch_retry * attempt
                if isinstance(error, ProviderRateLimited):
                    delay = max(delay, error.retry_after)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _act(self, connection_id: str, client: BadgeProvider, event: ProviderEvent) -> None:
        now = self._clock()
        if event.type in TEMPLATE_EVENTS:
            await self._resync(connection_id, client, event, now)
            return

        def apply(session: Session) -> None:
            if not record_webhook_event(session, connection_id, event.id, event.type, now):
                return  # processed meanwhile by another replica
            if event.type in BADGE_EVENTS and event.badge is not None:
                outcome = apply_provider_badge(session, client.kind, event.badge, now)
                if outcome.revoked_here:
                    _log.info(
                        "award revoked on the provider",
                        extra={"award_id": outcome.award_id, "event_id": event.id},
                    )

        await self._runner.write(apply)

    async def _resync(
        self, connection_id: str, client: BadgeProvider, event: ProviderEvent, now: datetime
    ) -> None:
        connection = await self._runner.read(lambda s: get_connection(s, connection_id))
        if connection is None or not connection.active:
            return
        report = await sync_connection(self._runner, connection, client, now)
        fresh = await self._runner.write(
            lambda s: record_webhook_event(s, connection_id, event.id, event.type, now)
        )
        _log.info(
            "templates re-synced on webhook",
            extra={
                "connection_id": connection_id,
                "event_id": event.id,
                "created": len(report.created),
                "updated": len(report.updated),
                "deactivated": len(report.deactivated),
            },
        )
        if fresh and self._on_change is not None:
            await self._on_change()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, "client disconnected")
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            raise _Refused(413, "body too large")
        if not message.get("more_body", False):
            return body


def _notification(body: bytes) -> tuple[str, str, str]:
    """(id, organization_id, event_type) of the thin webhook body."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _Refused(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise _Refused(400, "body is not a JSON object")
    values = []
    for name in ("id", "organization_id", "event_type"):
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
            raise _Refused(400, f"missing or invalid {name!r}")
        values.append(value)
    return values[0], values[1], values[2]


async def _respond(send: Send, status: int, body: Mapping[str, str]) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
