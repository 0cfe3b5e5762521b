"""The shared edge: lenient timestamps, Retry-After, error bodies, public names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from server.providers import accredible, credly
from server.providers import http as provider_http
from server.providers.http import error_message, parse_retry_after, parse_timestamp

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            "2014-04-01T14:41:00.000Z", datetime(2014, 4, 1, 14, 41, tzinfo=UTC), id="z-millis"
        ),
        pytest.param("2014-04-01T14:41:00Z", datetime(2014, 4, 1, 14, 41, tzinfo=UTC), id="z"),
        pytest.param(
            "2014-04-01T09:41:00-05:00",
            datetime(2014, 4, 1, 9, 41, tzinfo=timezone(timedelta(hours=-5))),
            id="offset-colon",
        ),
        pytest.param(
            "2014-04-01T09:41:00-0500",
            datetime(2014, 4, 1, 9, 41, tzinfo=timezone(timedelta(hours=-5))),
            id="offset-basic",
        ),
        pytest.param(
            "2014-04-01 09:41:00 -0500",
            datetime(2014, 4, 1, 9, 41, tzinfo=timezone(timedelta(hours=-5))),
            id="credly-request-format",
        ),
        pytest.param(
            "2014-04-01T14:41:00.123456789Z",
            datetime(2014, 4, 1, 14, 41, 0, 123456, tzinfo=UTC),
            id="nanoseconds",
        ),
        pytest.param(
            "2014-04-01T14:41:00", datetime(2014, 4, 1, 14, 41, tzinfo=UTC), id="naive-is-utc"
        ),
        pytest.param("2014-04-01", datetime(2014, 4, 1, tzinfo=UTC), id="bare-date"),
        pytest.param(None, None, id="null"),
        pytest.param(False, None, id="false"),
        pytest.param("", None, id="empty"),
        pytest.param("next tuesday", None, id="garbage"),
        pytest.param(1396363260, None, id="number"),
    ],
)
def test_parse_timestamp(value: object, expected: datetime | None) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("120", 120.0, id="delta-seconds"),
        pytest.param(" 1.5 ", 1.5, id="fractional"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("-3", 0.0, id="negative"),
        pytest.param("Tue, 10 Mar 2026 12:00:45 GMT", 45.0, id="http-date"),
        pytest.param("Tuesday, 10-Mar-26 12:01:00 GMT", 60.0, id="rfc850-date"),
        pytest.param("Tue, 10 Mar 2026 11:00:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("nan", 1.0, id="nan"),
        pytest.param("soon", 1.0, id="unreadable"),
        pytest.param("", 1.0, id="empty"),
        pytest.param(None, 1.0, id="absent"),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("response", "message"),
    [
        pytest.param(
            httpx.Response(422, json={"data": {"message": "m1"}, "metadata": {}}), "m1", id="credly"
        ),
        pytest.param(httpx.Response(404, json={"message": "m2"}), "m2", id="top-level"),
        pytest.param(httpx.Response(422, json={"errors": "m3"}), "m3", id="errors-string"),
        pytest.param(
            httpx.Response(422, json={"errors": {"a": ["x", "y"], "b": "z"}}),
            "a: x; y; b: z",
            id="errors-map",
        ),
        pytest.param(httpx.Response(404, json={"error": "Not found"}), "Not found", id="error"),
        pytest.param(
            httpx.Response(422, json={"error": {"code": "credential_invalid", "message": "m4"}}),
            "m4",
            id="error-object",
        ),
        pytest.param(
            httpx.Response(404, json={"success": False, "data": "m5"}), "m5", id="success-data"
        ),
        pytest.param(
            httpx.Response(401, text="HTTP Token: Access denied.\n"),
            "HTTP Token: Access denied.",
            id="text",
        ),
        pytest.param(httpx.Response(500, json={}), "", id="empty-object"),
        pytest.param(httpx.Response(500), "", id="no-body"),
        pytest.param(httpx.Response(400, text="x" * 1000), "x" * 300, id="truncated"),
    ],
)
def test_error_message_shapes(response: httpx.Response, message: str) -> None:
    assert error_message(response) == message


@pytest.mark.parametrize(
    ("module", "names"),
    [
        pytest.param(credly, {"CREDLY_PRODUCTION", "CREDLY_SANDBOX", "CredlyClient"}, id="credly"),
        pytest.param(
            accredible,
            {
                "ACCREDIBLE_EU",
                "ACCREDIBLE_PRODUCTION",
                "ACCREDIBLE_SANDBOX",
                "DEFAULT_PAGE_SIZE",
                "EARNER_KEY_FIELD",
                "AccredibleClient",
            },
            id="accredible",
        ),
        pytest.param(
            provider_http,
            {
                "DEFAULT_RETRY_AFTER",
                "DEFAULT_TIMEOUT",
                "DuplicateTest",
                "HttpProviderClient",
                "ProviderHttp",
                "error_message",
                "parse_retry_after",
                "parse_timestamp",
                "segment",
            },
            id="http",
        ),
    ],
)
def test_public_names(module: object, names: set[str]) -> None:
    assert set(module.__all__) == names
    assert all(hasattr(module, name) for name in names)


def test_both_clients_satisfy_the_port() -> None:
    from server.providers.base import BadgeProvider

    members = [n for n in vars(BadgeProvider) if not n.startswith("_")] + ["kind"]
    for client in (credly.CredlyClient, accredible.AccredibleClient):
        assert all(hasattr(client, name) for name in members), client
