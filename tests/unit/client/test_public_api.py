"""The public surface of ``badgeflow_client`` is exactly ``__all__``."""

from __future__ import annotations

import badgeflow_client
from badgeflow_client import cli, client, errors, events

EXPECTED = {
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RPC_TIMEOUT",
    "AlreadyExists",
    "AwardWatch",
    "BadgeflowClient",
    "BadgeflowError",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "PreconditionViolation",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "UnknownError",
    "event_from_dict",
    "from_rpc_error",
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
    for module in (badgeflow_client, cli, client, errors, events):
        assert [name for name in module.__all__ if not hasattr(module, name)] == [], module.__name__


def test_every_status_class_is_a_badgeflow_error() -> None:
    classes = [
        getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)
    ]
    assert sorted(c.__name__ for c in classes if not issubclass(c, errors.BadgeflowError)) == [
        "FieldViolation",
        "PreconditionViolation",
    ]
