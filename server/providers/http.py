"""The HTTP edge shared by the Credly and Accredible clients.

Everything that turns httpx into the provider error kinds lives here, so both clients
classify failures the same way:

| What happened                                              | Raised                     |
|------------------------------------------------------------|----------------------------|
| connect error / connect or pool timeout (nothing was sent) | ProviderTransportError     |
| timeout or dropped connection after sending, on a write    | ProviderOutcomeUnknown     |
| the same on a read (GET, or a search POST)                 | ProviderTransportError     |
| 5xx                                                        | ProviderTransportError     |
| 429                                                        | ProviderRateLimited        |
| 401 / 403                                                  | ProviderAuthError          |
| 404                                                        | ProviderNotFound           |
| 422 the provider calls a duplicate                         | ProviderDuplicate          |
| any other 4xx (and unexpected 1xx/3xx)                     | ProviderRejected           |
| 2xx whose body is not the JSON we expect, on a write       | ProviderOutcomeUnknown     |
| the same on a read                                         | ProviderTransportError     |

No retries happen here: the worker owns retries and the circuit breaker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from server.providers.errors import (
    ProviderAuthError,
    ProviderDuplicate,
    ProviderError,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransportError,
)

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_TIMEOUT",
    "DuplicateTest",
    "HttpProviderClient",
    "ProviderHttp",
    "error_message",
    "parse_retry_after",
    "parse_timestamp",
    "segment",
]

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 carries no usable Retry-After
_MAX_MESSAGE = 300
_REDACTED = "[redacted]"

# Failures raised before the request left this process: never applied, whatever the method.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)

DuplicateTest = Callable[[int, str], bool]
"""(status, provider message) -> whether the provider reports a duplicate."""

log = logging.getLogger("server.providers")
T = TypeVar("T")


def segment(value: str) -> str:
    """One path segment, escaped, so an id can never climb out of its resource."""
    return quote(str(value), safe="")


def parse_timestamp(value: object) -> datetime | None:
    """A provider timestamp, leniently: ISO 8601 with `Z` or an offset (with or without a
    colon), Credly's `YYYY-MM-DD HH:MM:SS ±HHMM`, or a bare date (midnight UTC). Naive
    values are taken as UTC. Anything else (null, false, garbage) is None."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        # Credly request format "2014-04-01 09:41:00 -0500": drop the space before the offset.
        text = re.sub(r"\s+([+-]\d{2}:?\d{2})$", r"\1", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; a date in
    the past means 0; a missing or unreadable header means DEFAULT_RETRY_AFTER."""
    if value is None or not value.strip():
        return DEFAULT_RETRY_AFTER
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # nan / inf
        return DEFAULT_RETRY_AFTER
    return max(0.0, seconds)


def error_message(response: httpx.Response) -> str:
    """The provider's human message from an error body, whatever its shape: Credly's
    `data.message` or top-level `message`; Accredible's `errors` (string, list or field
    map), `error`, `{"success": false, "data": "..."}`; or plain text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:_MAX_MESSAGE]
    return _message_from(body)[:_MAX_MESSAGE]


def _message_from(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(_message_from(item) for item in body)
    if not isinstance(body, Mapping):
        return str(body)
    data = body.get("data")
    if isinstance(data, Mapping) and data.get("message"):
        return str(data["message"])
    for key in ("message", "errors", "error"):
        if body.get(key):
            return _fields_message(body[key])
    if isinstance(data, str) and data:
        return data
    return ""


def _fields_message(value: Any) -> str:
    if isinstance(value, Mapping):
        if "message" in value:
            return str(value["message"])
        return "; ".join(f"{field}: {_message_from(msgs)}" for field, msgs in value.items())
    return _message_from(value)


class ProviderHttp:
    """One pooled `httpx.AsyncClient` plus the error mapping, for one provider account.

    `secrets` (the token and any encoding of it) are only used to scrub them from any text
    that could reach an exception or a log line (a provider echoing the key back, say)."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        secrets: tuple[str, ...],
        is_duplicate: DuplicateTest,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float | httpx.Timeout,
    ) -> None:
        self.provider = provider
        self._secrets = tuple(sorted((s for s in secrets if s), key=len, reverse=True))
        self._is_duplicate = is_duplicate
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Accept": "application/json", "User-Agent": "badgeflow", **headers},
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ProviderHttp(provider={self.provider!r}, base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, parse: Callable[[Any], T], **params: Any) -> T:
        return await self.call("GET", path, parse, params=params or None, read=True)

    async def call(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        read: bool = False,
    ) -> T:
        """Send one request and return `parse(decoded JSON body)` (None for an empty body).

        `read=True` marks a request that changes nothing (GET, a search POST): a transport
        failure after sending it is then retryable, not an unknown outcome. A body `parse`
        cannot read (KeyError, TypeError, ValueError) is mapped like an unreadable body."""
        request = self._client.build_request(method, path, params=params, json=json)
        what = f"{self.provider} {method} {self.redact(request.url.path)}"
        try:
            response = await self._client.send(request)
        except httpx.HTTPError as exc:
            raise self._transport_error(what, exc, read) from exc
        log.debug(
            "provider call",
            extra={"provider": self.provider, "call": what, "status": response.status_code},
        )
        if not response.is_success:
            raise self._status_error(what, response)
        try:
            return parse(response.json() if response.content else None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._malformed(what, read) from exc

    def _transport_error(self, what: str, exc: httpx.HTTPError, read: bool) -> ProviderError:
        detail = self.redact(str(exc)) or type(exc).__name__
        if isinstance(exc, _NOT_SENT) or read:
            return ProviderTransportError(f"{what} failed: {type(exc).__name__}: {detail}")
        return ProviderOutcomeUnknown(
            f"{what}: {type(exc).__name__} after sending ({detail}); the provider may have "
            "applied it"
        )

    def _status_error(self, what: str, response: httpx.Response) -> ProviderError:
        status = response.status_code
        message = self.redact(error_message(response))
        text = f"{what} -> HTTP {status}" + (f": {message}" if message else "")
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return ProviderRateLimited(f"{text} (retry after {retry_after:g}s)", retry_after)
        if status >= 500:
            return ProviderTransportError(text)
        if status in (401, 403):
            refused = "API key" if self.provider == "accredible" else "authorization token"
            return ProviderAuthError(
                f"{what} -> HTTP {status}: the {self.provider} {refused} was refused"
                + (f" ({message})" if message else ""),
                status,
            )
        if status == 404:
            return ProviderNotFound(text, status)
        if self._is_duplicate(status, message):
            return ProviderDuplicate(text, status)
        return ProviderRejected(text, status)

    def _malformed(self, what: str, read: bool) -> ProviderError:
        # A 2xx we cannot read: on a write it may well have been applied.
        if read:
            return ProviderTransportError(f"{what}: unexpected response body")
        return ProviderOutcomeUnknown(f"{what}: unexpected response body; it may have been applied")

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text


class HttpProviderClient:
    """What the Credly and Accredible clients share around their `ProviderHttp`: use as
    an async context manager, or call `aclose()`."""

    _http: ProviderHttp

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
