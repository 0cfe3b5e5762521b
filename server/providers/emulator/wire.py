"""Plain-ASGI request and response plumbing shared by both emulated APIs (JSON in and out)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ApiError(Exception):
    """An error answer: raised by a handler, turned into a response by the app."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # below the provider prefix, e.g. "/v1/organizations/..."
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # "http://host:port/credly": for absolute links

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; empty body means {}; anything else is a 400."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, {"error": "Body is not valid JSON"}) from exc
        if not isinstance(value, dict):
            raise ApiError(400, {"error": "Body must be a JSON object"})
        return value

    def url_with(self, **params: str) -> str:
        """This request's absolute URL with some query parameters replaced."""
        query = {**self.query, **params}
        return f"{self.base_url}{self.path}?{urlencode(query)}"


@dataclass(slots=True)
class Response:
    status: int
    body: Any = None  # JSON-serialisable, str (sent as text/plain) or None (empty)
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


async def read_request(scope: Scope, receive: Receive, prefix: str) -> Request:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host", "127.0.0.1")
    query = dict(
        parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    )
    return Request(
        method=scope["method"],
        path=scope["path"][len(prefix) :],
        query=query,
        headers=headers,
        body=b"".join(chunks),
        base_url=f"{scope.get('scheme', 'http')}://{host}{prefix}",
    )


async def send_response(send: Send, response: Response) -> None:
    payload, content_type = response.encode()
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
