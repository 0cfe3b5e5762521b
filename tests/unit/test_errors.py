"""The one mapping from domain errors to google.rpc.Status."""

from __future__ import annotations

import sqlite3

import grpc
import psycopg
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy import exc as sa_exc

from server.errors import (
    DATABASE_UNAVAILABLE,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unavailable,
    database_unavailable,
    grpc_errors,
    template_not_found,
    to_status,
)


def _detail(status: status_pb2.Status, kind: type):  # noqa: ANN202
    found = [d for d in status.details if d.Is(kind.DESCRIPTOR)]
    assert len(found) == 1, f"expected one {kind.__name__}"
    message = kind()
    found[0].Unpack(message)
    return message


def test_every_error_carries_error_info() -> None:
    status = to_status(template_not_found("credly:x"))
    assert (status.code, status.message) == (
        code_pb2.NOT_FOUND,
        "no template 'credly:x'; list templates to see the ids",
    )
    info = _detail(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "TEMPLATE_NOT_FOUND",
        "badgeflow",
        {"template_id": "credly:x"},
    )


def test_invalid_argument_lists_field_violations() -> None:
    error = InvalidArgument("BAD", "bad input", [FieldViolation("events", "too many")])
    violations = _detail(to_status(error), error_details_pb2.BadRequest).field_violations
    assert [(v.field, v.description) for v in violations] == [("events", "too many")]


def test_failed_precondition_names_the_subject() -> None:
    error = FailedPrecondition("NO_REQS", "needs rules", metadata={"subject": "credly:x"})
    (violation,) = _detail(to_status(error), error_details_pb2.PreconditionFailure).violations
    assert (violation.type, violation.subject, violation.description) == (
        "NO_REQS",
        "credly:x",
        "needs rules",
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(
            Unavailable("DOWN", "down", retry_after=2.5), code_pb2.UNAVAILABLE, id="unavailable"
        ),
        pytest.param(
            ResourceExhausted("SLOW", "slow", retry_after=2.5),
            code_pb2.RESOURCE_EXHAUSTED,
            id="exhausted",
        ),
    ],
)
def test_retryable_errors_say_when_to_retry(error: Unavailable, code: int) -> None:
    status = to_status(error)
    delay = _detail(status, error_details_pb2.RetryInfo).retry_delay
    assert (status.code, delay.seconds, delay.nanos) == (code, 2, 500_000_000)


class _Aborted(Exception):
    pass


class _Context:
    def __init__(self) -> None:
        self.status: grpc.Status | None = None

    async def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise _Aborted()


async def test_unexpected_exceptions_become_internal_without_their_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Servicer:
        @grpc_errors
        async def Explode(self, request: object, context: object) -> None:  # noqa: N802
            raise RuntimeError("secret token abc123")

    context = _Context()
    with pytest.raises(_Aborted):
        await Servicer().Explode(None, context)
    assert context.status is not None and context.status.code is grpc.StatusCode.INTERNAL
    assert "abc123" not in context.status.details
    status = status_pb2.Status.FromString(
        dict(context.status.trailing_metadata)["grpc-status-details-bin"]
    )
    correlation = _detail(status, error_details_pb2.ErrorInfo).metadata["correlation_id"]
    assert correlation in context.status.details
    (record,) = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert (record.correlation_id, record.method) == (correlation, "Explode")


async def test_streaming_handlers_map_errors_too() -> None:
    class Servicer:
        @grpc_errors
        async def Stream(self, request: object, context: object):  # noqa: ANN202, N802
            yield 1
            raise template_not_found("credly:y")

    context = _Context()
    received = []
    with pytest.raises(_Aborted):
        async for item in Servicer().Stream(None, context):
            received.append(item)
    assert received == [1]
    assert context.status is not None and context.status.code is grpc.StatusCode.NOT_FOUND
    assert (
        rpc_status.to_status(to_status(template_not_found("credly:y"))).details
        == context.status.details
    )


def _admin_shutdown() -> sa_exc.OperationalError:
    """What SQLAlchemy raises when PostgreSQL is restarted under a transaction."""
    original = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    return sa_exc.OperationalError("COMMIT", {}, original, connection_invalidated=True)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(_admin_shutdown(), id="restarted-mid-transaction"),
        pytest.param(
            sa_exc.OperationalError(
                None, None, psycopg.OperationalError("connection refused"), False
            ),
            id="connection-refused",
        ),
        pytest.param(
            sa_exc.InterfaceError(
                "SELECT 1",
                {},
                psycopg.InterfaceError("the connection is closed"),
                False,
                connection_invalidated=True,
            ),
            id="closed-connection",
        ),
        pytest.param(psycopg.OperationalError("the database system is starting up"), id="raw"),
    ],
)
async def test_a_lost_database_becomes_unavailable_with_retry_info(error: Exception) -> None:
    class Servicer:
        @grpc_errors
        async def Write(self, request: object, context: object) -> None:  # noqa: N802
            raise error

    context = _Context()
    with pytest.raises(_Aborted):
        await Servicer().Write(None, context)
    assert context.status is not None and context.status.code is grpc.StatusCode.UNAVAILABLE
    assert context.status.details == (
        "the database is unavailable; retry the request after the delay given"
    )
    status = status_pb2.Status.FromString(
        dict(context.status.trailing_metadata)["grpc-status-details-bin"]
    )
    info = _detail(status, error_details_pb2.ErrorInfo)
    delay = _detail(status, error_details_pb2.RetryInfo).retry_delay
    assert (info.reason, info.domain, delay.seconds, delay.nanos) == (
        DATABASE_UNAVAILABLE,
        "badgeflow",
        1,
        0,
    )


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            sa_exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup")),
            id="integrity",
        ),
        pytest.param(
            sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")),
            id="sqlite-missing-table",
        ),
        pytest.param(
            sa_exc.ProgrammingError("SELECT", {}, psycopg.errors.UndefinedTable("x")),
            id="undefined-table",
        ),
    ],
)
def test_other_database_errors_stay_internal(error: Exception) -> None:
    assert database_unavailable(error) is None
