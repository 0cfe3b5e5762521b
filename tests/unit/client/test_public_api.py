"""The public surface of ``badgeflow_client`` is exactly ``__all__``."""

from __future__ import annotations

import inspect

import badgeflow_client
from badgeflow_client import aio, channel, cli, client, errors, events, pagers, publisher

EXPECTED = {
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LINGER_MS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RPC_TIMEOUT",
    "AlreadyExists",
    "AsyncAwardWatch",
    "AsyncBadgeflowClient",
    "AsyncEventPublisher",
    "AsyncPager",
    "AwardWatch",
    "BadgeflowClient",
    "BadgeflowError",
    "Cancelled",
    "DeadlineExceeded",
    "EventPublisher",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "Pager",
    "PermissionDenied",
    "PreconditionViolation",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "UnknownError",
    "event_from_dict",
    "from_aio_call",
    "from_rpc_error",
    "payload_json",
}


def test_all_matches_public_names() -> None:
    public = {
        name
        for name, value in vars(badgeflow_client).items()
        if not name.startswith("_")
        and (
            getattr(value, "__module__", "").startswith("badgeflow_client")
            or name.startswith("DEFAULT_")
        )
    }
    assert set(badgeflow_client.__all__) == EXPECTED
    assert public == EXPECTED


def test_every_name_in_all_exists() -> None:
    for module in (badgeflow_client, aio, channel, cli, client, errors, events, pagers, publisher):
        assert [name for name in module.__all__ if not hasattr(module, name)] == [], module.__name__


def test_every_status_class_is_a_badgeflow_error() -> None:
    classes = [
        getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)
    ]
    assert sorted(c.__name__ for c in classes if not issubclass(c, errors.BadgeflowError)) == [
        "FieldViolation",
        "PreconditionViolation",
    ]


def _methods(cls: type) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(value).parameters)
        for name, value in vars(cls).items()
        if not name.startswith("_") and callable(value)
    }


def test_the_async_client_mirrors_the_sync_client() -> None:
    assert _methods(badgeflow_client.AsyncBadgeflowClient) == _methods(
        badgeflow_client.BadgeflowClient
    )
    assert inspect.signature(badgeflow_client.AsyncBadgeflowClient.__init__) == (
        inspect.signature(badgeflow_client.BadgeflowClient.__init__)
    )


def test_the_async_publisher_mirrors_the_sync_publisher() -> None:
    assert _methods(badgeflow_client.AsyncEventPublisher) == _methods(
        badgeflow_client.EventPublisher
    )
    assert inspect.signature(badgeflow_client.AsyncEventPublisher.__init__).parameters.keys() == (
        inspect.signature(badgeflow_client.EventPublisher.__init__).parameters.keys()
    )
