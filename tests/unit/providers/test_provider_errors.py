"""Both clients map every failure into the provider error kinds, and no token or key ever
reaches an exception message or a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from provider_wire import (
    ACCREDIBLE_AUTH,
    ACCREDIBLE_KEY,
    CREDLY_AUTH,
    CREDLY_ORG,
    CREDLY_TOKEN,
    ORG_PATH,
    TEMPLATE_ID,
    credly_badge,
    credly_one,
    reply,
)

from server.providers.accredible import AccredibleClient
from server.providers.base import BadgeProvider, IssueRequest, Recipient
from server.providers.credly import CredlyClient
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

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class Side:
    """One provider as these tests drive it."""

    name: str
    auth: str
    secrets: tuple[str, ...]  # the token and every encoding of it that travels
    paths: dict[str, tuple[str, str]]  # operation -> (method, path)
    duplicate: Any  # a 422 body the provider sends for a duplicate

    def connect(self, handler: Handler) -> CredlyClient | AccredibleClient:
        transport = httpx.MockTransport(handler)
        if self.name == "credly":
            return CredlyClient(CREDLY_ORG, CREDLY_TOKEN, transport=transport)
        return AccredibleClient(ACCREDIBLE_KEY, transport=transport)


CREDLY = Side(
    name="credly",
    auth=CREDLY_AUTH,
    secrets=(CREDLY_TOKEN, CREDLY_AUTH.removeprefix("Basic ")),
    paths={
        "issue": ("POST", f"{ORG_PATH}/badges"),
        "revoke": ("PUT", f"{ORG_PATH}/badges/b-1/revoke"),
        "read": ("GET", ORG_PATH),
        "search": ("GET", f"{ORG_PATH}/badges"),
    },
    duplicate={"data": {"message": "User already has this badge"}, "metadata": {}},
)
ACCREDIBLE = Side(
    name="accredible",
    auth=ACCREDIBLE_AUTH,
    secrets=(ACCREDIBLE_KEY,),
    paths={
        "issue": ("POST", "/v1/credentials"),
        "revoke": ("PUT", "/v1/credentials/b-1"),
        "read": ("GET", "/v1/issuer/details"),
        "search": ("POST", "/v2/credentials/search"),
    },
    duplicate={
        "errors": {
            "recipient.email": [
                "has already been taken. Your group settings do not allow duplicates of this "
                "credential to be sent to the same email."
            ]
        }
    },
)
SIDES = [pytest.param(CREDLY, id="credly"), pytest.param(ACCREDIBLE, id="accredible")]

REQUEST = IssueRequest(
    template_external_id="7",
    recipient=Recipient(
        learner_id="learner-1", email="ada@example.com", first_name="Ada", last_name="Lovelace"
    ),
    issued_at=datetime(2026, 3, 1, tzinfo=UTC),
    earner_key="award-42",
)


async def run(client: BadgeProvider, operation: str) -> Any:
    if operation == "issue":
        return await client.issue(REQUEST)
    if operation == "revoke":
        return await client.revoke("b-1", "issued in error")
    if operation == "read":
        return await client.organization_name()
    return await client.find(TEMPLATE_ID if client.kind == "credly" else "7", "award-42", "")


async def failure(side: Side, operation: str, answer: httpx.Response | Exception) -> ProviderError:
    """Run `operation` against a provider that answers `answer`; return what it raised."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == side.auth
        assert (request.method, request.url.path) == side.paths[operation]
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = side.connect(handle)
    try:
        with pytest.raises(ProviderError) as caught:
            await run(client, operation)
    finally:
        await client.aclose()
    return caught.value


def assert_no_secret(side: Side, exc: BaseException) -> None:
    texts = [str(exc), repr(exc), str(exc.args)]
    for secret in side.secrets:
        assert all(secret not in text for text in texts), texts


# -- HTTP status ----------------------------------------------------------------------------

STATUS_CASES = [
    pytest.param(reply(500, {"errors": "Internal server error"}), ProviderTransportError, id="500"),
    pytest.param(reply(502, "<html>Bad Gateway</html>"), ProviderTransportError, id="502"),
    pytest.param(reply(503, None), ProviderTransportError, id="503"),
    pytest.param(reply(429, None, **{"Retry-After": "7"}), ProviderRateLimited, id="429"),
    pytest.param(reply(401, "HTTP Token: Access denied."), ProviderAuthError, id="401"),
    pytest.param(
        reply(403, {"errors": "Private Certificate, use key"}), ProviderAuthError, id="403"
    ),
    pytest.param(reply(404, {"errors": "Doesn't exist"}), ProviderNotFound, id="404"),
    pytest.param(
        reply(422, {"data": {"message": "Validation failed: template is archived"}}),
        ProviderRejected,
        id="422-other",
    ),
    pytest.param(reply(400, {"message": "bad filter"}), ProviderRejected, id="400"),
    pytest.param(reply(410, {"error": "Gone"}), ProviderRejected, id="410"),
    pytest.param(reply(302, None, location="https://elsewhere/"), ProviderRejected, id="302"),
]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("answer", "kind"), STATUS_CASES)
async def test_status_mapping(side: Side, answer: httpx.Response, kind: type) -> None:
    exc = await failure(side, "issue", answer)
    assert type(exc) is kind
    method, path = side.paths["issue"]
    assert str(exc).startswith(f"{side.name} {method} {path} -> HTTP {answer.status_code}")
    if isinstance(exc, ProviderRejected):
        assert exc.status == answer.status_code


@pytest.mark.parametrize("side", SIDES)
async def test_duplicate_422_is_a_duplicate(side: Side) -> None:
    exc = await failure(side, "issue", reply(422, side.duplicate))
    assert type(exc) is ProviderDuplicate and exc.status == 422


@pytest.mark.parametrize(
    ("side", "status", "text"),
    [
        pytest.param(
            CREDLY,
            401,
            f"credly POST {ORG_PATH}/badges -> HTTP 401: the credly authorization token was "
            "refused (HTTP Token: Access denied.)",
            id="credly-401",
        ),
        pytest.param(
            ACCREDIBLE,
            403,
            "accredible POST /v1/credentials -> HTTP 403: the accredible API key was refused "
            "(HTTP Token: Access denied.)",
            id="accredible-403",
        ),
    ],
)
async def test_auth_error_says_the_credential_was_refused(
    side: Side, status: int, text: str
) -> None:
    exc = await failure(side, "issue", reply(status, "HTTP Token: Access denied."))
    assert str(exc) == text


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"data": {"message": "Badge template is archived"}},
            "Badge template is archived",
            id="credly-data-message",
        ),
        pytest.param({"message": "Not allowed"}, "Not allowed", id="top-level-message"),
        pytest.param({"errors": "Invalid Group"}, "Invalid Group", id="errors-string"),
        pytest.param(
            {"errors": {"course_name": ["can't be blank"]}},
            "course_name: can't be blank",
            id="errors-map",
        ),
        pytest.param(
            {"success": False, "data": "Group does not exist"},
            "Group does not exist",
            id="success-data",
        ),
        pytest.param("plain words", "plain words", id="plain-text"),
    ],
)
async def test_rejection_carries_the_provider_message(side: Side, body: Any, message: str) -> None:
    exc = await failure(side, "issue", reply(400, body))
    assert str(exc).endswith(f"-> HTTP 400: {message}")


# -- 429 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        pytest.param({"Retry-After": "30"}, 30.0, id="seconds"),
        pytest.param({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0, id="date-in-the-past"),
        pytest.param({"Retry-After": "soon"}, 1.0, id="unreadable"),
        pytest.param({}, 1.0, id="absent"),
    ],
)
async def test_rate_limited_carries_retry_after(
    side: Side, headers: dict, retry_after: float
) -> None:
    exc = await failure(side, "issue", reply(429, {"errors": "Too many requests"}, **headers))
    assert isinstance(exc, ProviderRateLimited)
    assert exc.retry_after == retry_after
    assert str(exc).endswith(f"(retry after {retry_after:g}s)")


# -- transport failures ---------------------------------------------------------------------

TRANSPORT_CASES = [
    pytest.param("issue", httpx.ConnectError, ProviderTransportError, id="connect-refused-post"),
    pytest.param("issue", httpx.ConnectTimeout, ProviderTransportError, id="connect-timeout-post"),
    pytest.param("issue", httpx.PoolTimeout, ProviderTransportError, id="pool-timeout-post"),
    pytest.param("issue", httpx.ReadTimeout, ProviderOutcomeUnknown, id="read-timeout-post"),
    pytest.param("issue", httpx.WriteTimeout, ProviderOutcomeUnknown, id="write-timeout-post"),
    pytest.param("issue", httpx.RemoteProtocolError, ProviderOutcomeUnknown, id="dropped-post"),
    pytest.param("issue", httpx.ReadError, ProviderOutcomeUnknown, id="read-error-post"),
    pytest.param("revoke", httpx.RemoteProtocolError, ProviderOutcomeUnknown, id="dropped-put"),
    pytest.param("revoke", httpx.ConnectError, ProviderTransportError, id="connect-refused-put"),
    pytest.param("read", httpx.RemoteProtocolError, ProviderTransportError, id="dropped-get"),
    pytest.param("read", httpx.ReadTimeout, ProviderTransportError, id="read-timeout-get"),
    pytest.param("read", httpx.ReadError, ProviderTransportError, id="read-error-get"),
    pytest.param("read", httpx.ConnectError, ProviderTransportError, id="connect-refused-get"),
    pytest.param("search", httpx.RemoteProtocolError, ProviderTransportError, id="dropped-search"),
]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("operation", "raised", "kind"), TRANSPORT_CASES)
async def test_transport_failure_mapping(
    side: Side, operation: str, raised: type, kind: type
) -> None:
    cause = raised("Server disconnected without sending a response.")
    exc = await failure(side, operation, cause)
    assert type(exc) is kind
    assert exc.__cause__ is cause
    method, path = side.paths[operation]
    assert str(exc).startswith(f"{side.name} {method} {path}")
    assert raised.__name__ in str(exc)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    ("operation", "answer", "kind"),
    [
        pytest.param(
            "issue", reply(201, "<html>ok</html>"), ProviderOutcomeUnknown, id="post-not-json"
        ),
        pytest.param(
            "issue",
            reply(201, {"data": {}, "credential": {}}),
            ProviderOutcomeUnknown,
            id="post-no-id",
        ),
        pytest.param(
            "read", reply(200, "<html>ok</html>"), ProviderTransportError, id="get-not-json"
        ),
        pytest.param(
            "read", reply(200, {"unexpected": True}), ProviderTransportError, id="get-wrong-shape"
        ),
    ],
)
async def test_unreadable_success_body(
    side: Side, operation: str, answer: httpx.Response, kind: type
) -> None:
    exc = await failure(side, operation, answer)
    assert type(exc) is kind
    assert "unexpected response body" in str(exc)


# -- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
async def test_an_echoed_token_is_redacted_from_error_messages(side: Side, status: int) -> None:
    echoed = " and ".join(side.secrets)
    exc = await failure(side, "issue", reply(status, {"errors": f"bad credentials {echoed}"}))
    assert_no_secret(side, exc)
    assert "[redacted]" in str(exc)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("operation", "raised", "kind"), TRANSPORT_CASES)
async def test_a_token_in_a_transport_error_is_redacted(
    side: Side, operation: str, raised: type, kind: type
) -> None:
    exc = await failure(side, operation, raised(f"proxy said {' '.join(side.secrets)}"))
    assert_no_secret(side, exc)


@pytest.mark.parametrize("side", SIDES)
async def test_logs_never_carry_the_token(side: Side, caplog: pytest.LogCaptureFixture) -> None:
    answers = iter(
        [reply(201, {"data": credly_badge(), "credential": {"id": 1}}), reply(401, "no")]
    )

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers)

    caplog.set_level(logging.DEBUG)
    client = side.connect(handle)
    try:
        await client.issue(REQUEST)
        with pytest.raises(ProviderAuthError):
            await client.issue(REQUEST)
    finally:
        await client.aclose()
    assert caplog.records, "expected the calls to be logged"
    logged = caplog.text + "".join(str(vars(record)) for record in caplog.records)
    for secret in side.secrets:
        assert secret not in logged


@pytest.mark.parametrize("side", SIDES)
async def test_repr_never_carries_the_token(side: Side) -> None:
    client = side.connect(lambda request: reply(200, credly_one({})))
    try:
        for text in (repr(client), str(client), repr(client._http)):
            assert all(secret not in text for secret in side.secrets)
    finally:
        await client.aclose()
