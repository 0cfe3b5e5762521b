"""The domain error tree and its single mapping to `google.rpc.Status`.

Servicers raise these; `grpc_errors` (below) is the one place that turns them into a
status with rich details, so every RPC reports failures the same way and nothing falls
through to grpc as UNKNOWN with an exception text.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import psycopg
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import DBAPIError

__all__ = [
    "API_KEY_INVALID",
    "API_KEY_MALFORMED",
    "API_KEY_MISSING",
    "API_KEY_REVOKED",
    "DATABASE_RETRY_AFTER",
    "DATABASE_UNAVAILABLE",
    "DOMAIN",
    "ROLE_INSUFFICIENT",
    "AlreadyExists",
    "BadgeflowError",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "database_unavailable",
    "grpc_errors",
    "template_not_found",
    "to_status",
]

DOMAIN = "badgeflow"

# Authentication and authorization reasons (server.auth). UNAUTHENTICATED: no key, a
# header or key that is not a badgeflow key, an unknown key, a revoked key.
API_KEY_MISSING = "API_KEY_MISSING"
API_KEY_MALFORMED = "API_KEY_MALFORMED"
API_KEY_INVALID = "API_KEY_INVALID"
API_KEY_REVOKED = "API_KEY_REVOKED"
# PERMISSION_DENIED: a valid key whose role does not allow the RPC (metadata
# required_role, key_role, key_id).
ROLE_INSUFFICIENT = "ROLE_INSUFFICIENT"
# UNAVAILABLE: the database could not be reached or dropped the connection (restart,
# fail-over, network). The transaction was rolled back whole, so the call is safe to
# retry after RetryInfo's delay; event ids make a resent batch idempotent.
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
#: Seconds a client is told to wait before retrying after DATABASE_UNAVAILABLE.
DATABASE_RETRY_AFTER = 1.0
_log = logging.getLogger("badgeflow.errors")


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field of a request: which, and what to do about it."""

    field: str
    description: str


class BadgeflowError(Exception):
    """Base of every error a caller may see; `reason` is a stable UPPER_SNAKE code."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        details: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        self.extra_details = tuple(details)


class NotFound(BadgeflowError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(BadgeflowError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(BadgeflowError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(BadgeflowError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(BadgeflowError):
    code = grpc.StatusCode.PERMISSION_DENIED


class InvalidArgument(BadgeflowError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(
        self,
        reason: str,
        message: str,
        violations: Sequence[FieldViolation] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(reason, message, **kwargs)
        self.violations = tuple(violations)


def template_not_found(template_id: str) -> NotFound:
    return NotFound(
        "TEMPLATE_NOT_FOUND",
        f"no template {template_id!r}; list templates to see the ids",
        metadata={"template_id": template_id},
    )


class Unavailable(BadgeflowError):
    code = grpc.StatusCode.UNAVAILABLE

    def __init__(self, reason: str, message: str, retry_after: float = 1.0, **kw: Any) -> None:
        super().__init__(reason, message, **kw)
        self.retry_after = retry_after


class ResourceExhausted(Unavailable):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: BadgeflowError) -> status_pb2.Status:
    """Build the rich status for a domain error (ErrorInfo always, plus the detail that
    fits the code)."""
    details = [
        _pack(
            error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
        )
    ]
    if isinstance(error, InvalidArgument) and error.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    if isinstance(error, FailedPrecondition):
        details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=error.reason,
                            subject=error.metadata.get("subject", ""),
                            description=error.message,
                        )
                    ]
                )
            )
        )
    if isinstance(error, Unavailable):
        seconds = max(error.retry_after, 0.0)
        delay = duration_pb2.Duration(
            seconds=int(seconds), nanos=int((seconds - int(seconds)) * 1e9)
        )
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    details.extend(_pack(d) for d in error.extra_details)
    return status_pb2.Status(
        code=getattr(code_pb2, error.code.name), message=error.message, details=details
    )


def _internal_status(correlation_id: str) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL", domain=DOMAIN, metadata={"correlation_id": correlation_id}
    )
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error; quote correlation id {correlation_id} to an operator",
        details=[_pack(info)],
    )


def database_unavailable(exc: BaseException) -> Unavailable | None:
    """The domain error for a lost or unreachable database, or None for anything else.

    SQLAlchemy marks a dropped connection `connection_invalidated`; psycopg reports a
    refused connection, a server shutting down or starting up ("terminating connection
    due to administrator command", "the database system is starting up") as its
    `OperationalError`, which SQLAlchemy wraps. SQLite's OperationalError is left out:
    there it also means a missing table, which no retry cures."""
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if not (lost or isinstance(original, psycopg.OperationalError)):
        return None
    return Unavailable(
        DATABASE_UNAVAILABLE,
        "the database is unavailable; retry the request after the delay given",
        retry_after=DATABASE_RETRY_AFTER,
    )


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException, method: str) -> None:
    mapped = database_unavailable(exc)
    if mapped is not None:
        _log.warning("database unavailable", extra={"method": method, "error": type(exc).__name__})
        exc = mapped
    if isinstance(exc, BadgeflowError):
        _log.info(
            "rpc failed",
            extra={"method": method, "code": exc.code.name, "reason": exc.reason},
        )
        await context.abort_with_status(rpc_status.to_status(to_status(exc)))
    correlation_id = uuid.uuid4().hex
    _log.exception("unexpected error", extra={"method": method, "correlation_id": correlation_id})
    await context.abort_with_status(rpc_status.to_status(_internal_status(correlation_id)))


F = TypeVar("F", bound=Callable[..., Any])


def grpc_errors(handler: F) -> F:
    """Decorate a servicer method (unary or streaming) so domain errors become rich
    statuses and anything unexpected becomes INTERNAL with a logged correlation id."""
    method = handler.__name__
    if inspect.isasyncgenfunction(handler):

        @functools.wraps(handler)
        async def stream_wrapper(self: Any, request: Any, context: Any) -> Any:
            try:
                async for item in handler(self, request, context):
                    yield item
            except _PASS_THROUGH:
                raise
            except Exception as exc:  # noqa: BLE001 - mapped, never swallowed
                await _abort(context, exc, method)

        return stream_wrapper  # type: ignore[return-value]

    @functools.wraps(handler)
    async def unary_wrapper(self: Any, request: Any, context: Any) -> Any:
        try:
            return await handler(self, request, context)
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped, never swallowed
            await _abort(context, exc, method)

    return unary_wrapper  # type: ignore[return-value]


# abort_with_status raises an internal AbortError, which must reach grpc untouched.
_PASS_THROUGH: tuple[type[BaseException], ...] = (grpc.aio.AbortError,)
