"""Every error kind arrives as its typed exception, with the rich status details, in
both clients: from the real server where it produces the kind, and from a scripted
grpc.aio server (a real port) sending a hand-built status where it cannot yet."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from badgeflow.v1 import rules_pb2
from badgeflow_client import (
    AlreadyExists,
    AsyncBadgeflowClient,
    BadgeflowError,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    UnknownError,
)
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2

from tests.service.sdk_harness import FLAVOURS, HANG, invoke, rich_status, scripted_server

TEMPLATE_ID = "credly:8f2b7c1e-0000-4000-8000-000000000001"
OTHER_ID = "credly:8f2b7c1e-0000-4000-8000-000000000002"
RULES = """badge "demo-graduate" {
    template credly "8f2b7c1e-0000-4000-8000-000000000001"
    require on course_passed where is_passing
}
"""
OTHER_RULES = RULES.replace("demo-graduate", "other").replace("0001", "0002")
UNREACHABLE = "127.0.0.1:1"


def _fields(error: BadgeflowError) -> dict[str, Any]:
    """Everything an error carries, to assert in one comparison."""
    return {
        "type": type(error),
        "code": error.code,
        "reason": error.reason,
        "message": error.message,
        "metadata": error.metadata,
        "violations": error.violations,
        "precondition_violations": error.precondition_violations,
        "retry_after": error.retry_after,
    }


def _expected(
    cls: type[BadgeflowError], reason: str, message: str, **fields: Any
) -> dict[str, Any]:
    return {
        "type": cls,
        "code": cls.default_code,
        "reason": reason,
        "message": message,
        "metadata": {},
        "violations": [],
        "precondition_violations": [],
        "retry_after": None,
        **fields,
    }


async def _raised(flavour: str, target: str, method: str, *args: Any, **kwargs: Any) -> Any:
    with pytest.raises(BadgeflowError) as raised:
        await invoke(flavour, target, method, *args, **kwargs)
    return raised.value


# -- from the real server ----------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unknown_template_is_not_found(flavour: str, target: str) -> None:
    error = await _raised(flavour, target, "get_template", "credly:nope")
    assert _fields(error) == _expected(
        NotFound,
        "TEMPLATE_NOT_FOUND",
        "no template 'credly:nope'; list templates to see the ids",
        metadata={"template_id": "credly:nope"},
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unknown_learner_is_not_found(flavour: str, target: str) -> None:
    error = await _raised(flavour, target, "learner_progress", "L404")
    assert _fields(error) == _expected(
        NotFound,
        "LEARNER_NOT_FOUND",
        "no events were ever received for learner 'L404'",
        metadata={"learner_id": "L404"},
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_bad_rules_are_invalid_with_diagnostics(flavour: str, target: str) -> None:
    bad = RULES.replace("is_passing", "is_pasing")
    error = await _raised(flavour, target, "apply_rules", {"demo.badge": bad})
    first = "demo.badge:3:36: error[E203]: unknown field 'is_pasing' in event 'course_passed'"
    assert _fields(error) == _expected(
        InvalidArgument,
        "RULES_INVALID",
        f"the rules have 1 error(s); the first: {first}",
        metadata={"error_count": "1"},
        violations=[FieldViolation("rules", first)],
    )
    assert [
        (d.code, d.severity, d.span.file, d.span.line, d.span.column, d.hint)
        for d in error.diagnostics
    ] == [
        (
            "E203",
            rules_pb2.DIAGNOSTIC_SEVERITY_ERROR,
            "demo.badge",
            3,
            36,
            "did you mean 'is_passing'?",
        )
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unnamed_rule_file_is_invalid_with_field_violations(
    flavour: str, target: str
) -> None:
    error = await _raised(flavour, target, "validate_rules", {"": RULES})
    assert _fields(error) == _expected(
        InvalidArgument,
        "INVALID_RULE_FILES",
        "the rule files are not a valid set",
        violations=[FieldViolation("files[0].name", "give every rule file a name")],
    )
    assert error.diagnostics == []


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_oversized_rule_files_are_invalid_with_field_violations(
    flavour: str, target: str
) -> None:
    big = "# padding\n" * 450_000  # 4,500,000 bytes: over the 4 MiB a file may hold
    files = {"a.badge": RULES, "b.badge": big, "c.badge": big}
    error = await _raised(flavour, target, "validate_rules", files)
    assert _fields(error) == _expected(
        InvalidArgument,
        "INVALID_RULE_FILES",
        "the rule files are not a valid set",
        violations=[
            FieldViolation(
                "files[1].content",
                "4,500,000 bytes; a rule file may hold at most 4,194,304: split it into"
                " several files",
            ),
            FieldViolation(
                "files[2].content",
                "4,500,000 bytes; a rule file may hold at most 4,194,304: split it into"
                " several files",
            ),
            FieldViolation(
                "files",
                f"{9_000_000 + len(RULES):,} bytes in all; a rule set may hold at most 8,388,608",
            ),
        ],
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_activating_without_rules_is_a_failed_precondition(flavour: str, target: str) -> None:
    await invoke(flavour, target, "apply_rules", {"a.badge": RULES})
    await invoke(flavour, target, "apply_rules", {"b.badge": OTHER_RULES})  # unbinds the first
    error = await _raised(flavour, target, "activate_template", TEMPLATE_ID)
    assert error.precondition_violations == [
        PreconditionViolation("TEMPLATE_HAS_NO_REQUIREMENTS", TEMPLATE_ID, error.message)
    ]
    assert _fields(error) == _expected(
        FailedPrecondition,
        "TEMPLATE_HAS_NO_REQUIREMENTS",
        error.message,
        metadata={"subject": TEMPLATE_ID, "template_id": TEMPLATE_ID},
        precondition_violations=error.precondition_violations,
    )
    assert TEMPLATE_ID in error.message


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unreachable_provider_is_unavailable_with_retry_after(
    flavour: str, target: str
) -> None:
    error = await _raised(
        flavour,
        target,
        "connect_provider",
        "credly",
        "8f2b7c1e-0000-4000-8000-00000000000a",
        "token",
        base_url="http://127.0.0.1:1",
    )
    assert (type(error), error.reason, error.retry_after) == (
        Unavailable,
        "PROVIDER_UNREACHABLE",
        5.0,
    )
    assert error.message.startswith("cannot reach credly at http://127.0.0.1:1: ")
    assert "token" not in repr(error)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unreachable_server_is_unavailable(flavour: str) -> None:
    error = await _raised(flavour, UNREACHABLE, "get_rules", options={"timeout": 5})
    assert (type(error), error.code, error.reason, error.metadata) == (
        Unavailable,
        grpc.StatusCode.UNAVAILABLE,
        "",
        {},
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_watch_past_its_deadline_is_deadline_exceeded(flavour: str, target: str) -> None:
    error = await _raised(flavour, target, "watch_awards", "L1", timeout=0.2)
    assert (type(error), error.code, error.reason) == (
        DeadlineExceeded,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "",
    )


async def test_async_watch_on_unreachable_server_fails_when_waiting() -> None:
    async with AsyncBadgeflowClient(UNREACHABLE) as client:
        watch = client.watch_awards()
        with pytest.raises(Unavailable) as raised:
            await watch.wait_subscribed()
    assert raised.value.code is grpc.StatusCode.UNAVAILABLE


async def test_async_watch_ends_when_cancelled(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        watch = client.watch_awards(learner_id="L1")
        await watch.wait_subscribed()
        watch.cancel()
        assert [change async for change in watch] == []
        with pytest.raises(Cancelled):
            await watch.wait_subscribed()


# -- from a scripted server ---------------------------------------------------------------


def _retry(seconds: int) -> error_details_pb2.RetryInfo:
    return error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))


SCRIPTED = [
    pytest.param(
        rich_status(
            grpc.StatusCode.PERMISSION_DENIED,
            "this key may not read templates",
            "MISSING_SCOPE",
            scope="templates.read",
        ),
        _expected(
            PermissionDenied,
            "MISSING_SCOPE",
            "this key may not read templates",
            metadata={"scope": "templates.read"},
        ),
        id="permission-denied",
    ),
    pytest.param(
        rich_status(grpc.StatusCode.UNAUTHENTICATED, "no API key was sent", "API_KEY_MISSING"),
        _expected(Unauthenticated, "API_KEY_MISSING", "no API key was sent"),
        id="unauthenticated",
    ),
    pytest.param(
        rich_status(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "too many requests for this key",
            "RATE_LIMITED",
            _retry(3),
        ),
        _expected(
            ResourceExhausted, "RATE_LIMITED", "too many requests for this key", retry_after=3.0
        ),
        id="resource-exhausted",
    ),
    pytest.param(
        rich_status(
            grpc.StatusCode.INTERNAL,
            "internal error; quote correlation id 5e1f to an operator",
            "INTERNAL",
            correlation_id="5e1f",
        ),
        _expected(
            Internal,
            "INTERNAL",
            "internal error; quote correlation id 5e1f to an operator",
            metadata={"correlation_id": "5e1f"},
        ),
        id="internal",
    ),
    pytest.param(
        rich_status(
            grpc.StatusCode.ALREADY_EXISTS,
            "connection credly:org exists",
            "CONNECTION_EXISTS",
            connection_id="credly:org",
        ),
        _expected(
            AlreadyExists,
            "CONNECTION_EXISTS",
            "connection credly:org exists",
            metadata={"connection_id": "credly:org"},
        ),
        id="already-exists",
    ),
    pytest.param(
        rich_status(grpc.StatusCode.UNAVAILABLE, "shutting down", "SHUTTING_DOWN", _retry(1)),
        _expected(Unavailable, "SHUTTING_DOWN", "shutting down", retry_after=1.0),
        id="unavailable",
    ),
    pytest.param(
        rich_status(grpc.StatusCode.CANCELLED, "the server stopped the call", "STOPPED"),
        _expected(Cancelled, "STOPPED", "the server stopped the call"),
        id="cancelled",
    ),
    pytest.param(
        status_pb2.Status(code=grpc.StatusCode.UNIMPLEMENTED.value[0], message="GetRules"),
        _expected(Unimplemented, "", "GetRules"),
        id="unimplemented",
    ),
    pytest.param(
        status_pb2.Status(code=grpc.StatusCode.DATA_LOSS.value[0], message="a page was lost"),
        _expected(UnknownError, "", "a page was lost", code=grpc.StatusCode.DATA_LOSS),
        id="unknown-fallback",
    ),
]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(("status", "expected"), SCRIPTED)
async def test_each_status_kind_becomes_its_exception(
    flavour: str, status: status_pb2.Status, expected: dict[str, Any]
) -> None:
    async with scripted_server(GetRules=[status]) as server:
        error = await _raised(flavour, server.target, "get_rules", options={"retries": False})
    assert _fields(error) == expected
    assert error.diagnostics == []


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_internal_exposes_the_correlation_id(flavour: str) -> None:
    status = rich_status(grpc.StatusCode.INTERNAL, "internal", "INTERNAL", correlation_id="9f2c")
    async with scripted_server(GrantAward=[status]) as server:
        error = await _raised(flavour, server.target, "grant_award", "credly:t", "L1", "why")
    assert (type(error), error.correlation_id) == (Internal, "9f2c")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_slow_watcher_is_resource_exhausted(flavour: str) -> None:
    too_slow = rich_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "this stream fell too far behind and was closed; reconnect",
        "WATCHER_TOO_SLOW",
        _retry(1),
    )
    async with scripted_server(WatchAwards=[too_slow]) as server:
        error = await _raised(flavour, server.target, "watch_awards")
    assert _fields(error) == _expected(
        ResourceExhausted,
        "WATCHER_TOO_SLOW",
        "this stream fell too far behind and was closed; reconnect",
        retry_after=1.0,
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_backfill_past_its_deadline_is_deadline_exceeded(flavour: str) -> None:
    async with scripted_server(BackfillRules=[HANG]) as server:
        error = await _raised(flavour, server.target, "backfill_rules", timeout=0.2)
    assert (type(error), error.code) == (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED)
