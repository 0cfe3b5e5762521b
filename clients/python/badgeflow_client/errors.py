"""Typed exceptions for failed badgeflow calls.

The server encodes every failure as a `google.rpc.Status` in the `grpc-status-details-bin`
trailing metadata: an `ErrorInfo` (stable `reason`, domain "badgeflow", `metadata`), plus
`BadRequest` field violations for bad input, `PreconditionFailure` for state conflicts,
`RetryInfo` with UNAVAILABLE / RESOURCE_EXHAUSTED, and a `badgeflow.v1.RuleDiagnostics`
detail when rule files do not compile. `from_rpc_error` reverses that mapping into one
exception tree, so callers catch by meaning rather than by status code:

    >>> from badgeflow_client import BadgeflowClient, NotFound
    >>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
    ...     try:
    ...         client.get_template("credly:nope")
    ...     except NotFound as error:
    ...         print(error.reason, error.metadata["template_id"])
    TEMPLATE_NOT_FOUND credly:nope
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import grpc
from badgeflow.v1 import rules_pb2
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "DOMAIN",
    "AlreadyExists",
    "BadgeflowError",
    "Cancelled",
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
    "Unimplemented",
    "UnknownError",
    "from_aio_call",
    "from_rpc_error",
    "from_status",
]

DOMAIN = "badgeflow"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


class FieldViolation(NamedTuple):
    """One bad request field (from a `BadRequest` detail) and how to fix it."""

    field: str
    description: str


class PreconditionViolation(NamedTuple):
    """One unmet precondition (from a `PreconditionFailure` detail)."""

    type: str
    subject: str
    description: str


class BadgeflowError(Exception):
    """Base of every error the SDK raises for a failed call.

    Attributes:
        code: the gRPC status code.
        reason: the server's stable UPPER_SNAKE reason (from `ErrorInfo`), e.g.
            "TEMPLATE_NOT_FOUND"; empty when the failure did not come from badgeflow
            (e.g. the server could not be reached).
        message: the human-readable status message.
        metadata: `ErrorInfo` metadata, e.g. {"template_id": "credly:…"}.
        violations: `FieldViolation(field, description)` for each bad request field.
        precondition_violations: `PreconditionViolation(type, subject, description)`s.
        diagnostics: `badgeflow.v1.RuleDiagnostic`s when rule files do not compile.
        retry_after: seconds to wait before retrying (from `RetryInfo`), or None.

    Example:
        >>> try:                                   # doctest: +SKIP
        ...     client.apply_rules({"a.badge": "badge {"})
        ... except BadgeflowError as error:
        ...     print(error.code.name, error.reason)
        INVALID_ARGUMENT RULES_INVALID
    """

    default_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        metadata: dict[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
        precondition_violations: Sequence[PreconditionViolation] = (),
        diagnostics: Sequence[rules_pb2.RuleDiagnostic] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        self.violations = list(violations)
        self.precondition_violations = list(precondition_violations)
        self.diagnostics = list(diagnostics)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, "
            f"message={self.message!r})"
        )


class InvalidArgument(BadgeflowError):
    """The request is invalid; see `.violations` (and `.diagnostics` for rule files)."""

    default_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(BadgeflowError):
    """The named learner, template or other resource does not exist."""

    default_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(BadgeflowError):
    """The resource to create exists already."""

    default_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(BadgeflowError):
    """The system is not in a state that allows the call (e.g. a stale rules version)."""

    default_code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(BadgeflowError):
    """The caller may not do this."""

    default_code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(BadgeflowError):
    """The caller did not prove who it is."""

    default_code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(BadgeflowError):
    """A limit was hit (e.g. a watcher fell behind); retry after `.retry_after`."""

    default_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(BadgeflowError):
    """The server cannot be reached or is not serving; retry after `.retry_after`."""

    default_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(BadgeflowError):
    """The call did not finish within its timeout."""

    default_code = grpc.StatusCode.DEADLINE_EXCEEDED


class Internal(BadgeflowError):
    """A server bug; quote `.correlation_id` to an operator: it locates it in the server log.

    Example:
        >>> Internal("internal error", metadata={"correlation_id": "9f2c"}).correlation_id
        '9f2c'
    """

    default_code = grpc.StatusCode.INTERNAL

    @property
    def correlation_id(self) -> str:
        """The id the server logged the failure under; empty if it sent none."""
        return self.metadata.get("correlation_id", "")


class Cancelled(BadgeflowError):
    """The call was cancelled (by the caller, or by the server shutting down)."""

    default_code = grpc.StatusCode.CANCELLED


class Unimplemented(BadgeflowError):
    """The server does not offer this call (it is older than this SDK)."""

    default_code = grpc.StatusCode.UNIMPLEMENTED


class UnknownError(BadgeflowError):
    """Any status code without its own class (UNKNOWN, ABORTED, DATA_LOSS, …)."""


_CLASSES: dict[grpc.StatusCode, type[BadgeflowError]] = {
    cls.default_code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Internal,
        Cancelled,
        Unimplemented,
    )
}
# google.rpc.Code numbers (in Status.code) equal the grpc.StatusCode values.
_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def _unpack(detail: any_pb2.Any, message_type: type[Any]) -> Any | None:
    if not detail.Is(message_type.DESCRIPTOR):
        return None
    message = message_type()
    detail.Unpack(message)
    return message


def _fields(details: Iterable[any_pb2.Any]) -> dict[str, Any]:
    """Collect the keyword arguments of a BadgeflowError from status details."""
    fields: dict[str, Any] = {
        "violations": [],
        "precondition_violations": [],
        "diagnostics": [],
    }
    for detail in details:
        if info := _unpack(detail, error_details_pb2.ErrorInfo):
            fields["reason"] = info.reason
            fields["metadata"] = dict(info.metadata)
        elif bad := _unpack(detail, error_details_pb2.BadRequest):
            fields["violations"] += [
                FieldViolation(v.field, v.description) for v in bad.field_violations
            ]
        elif failure := _unpack(detail, error_details_pb2.PreconditionFailure):
            fields["precondition_violations"] += [
                PreconditionViolation(v.type, v.subject, v.description) for v in failure.violations
            ]
        elif retry := _unpack(detail, error_details_pb2.RetryInfo):
            fields["retry_after"] = retry.retry_delay.ToTimedelta().total_seconds()
        elif rule_diagnostics := _unpack(detail, rules_pb2.RuleDiagnostics):
            fields["diagnostics"] += list(rule_diagnostics.diagnostics)
    return fields


def from_status(
    code: grpc.StatusCode, message: str, status: status_pb2.Status | None = None
) -> BadgeflowError:
    """Build the typed exception for a status code, message and optional rich status.

    Example:
        >>> from_status(grpc.StatusCode.NOT_FOUND, "no template 'x'").__class__.__name__
        'NotFound'
    """
    cls = _CLASSES.get(code, UnknownError)
    fields = _fields(status.details) if status is not None else {}
    return cls(message, code=code, **fields)


def _rich_status(metadata: Iterable[tuple[str, Any]] | None) -> status_pb2.Status | None:
    for key, value in metadata or ():
        if key == STATUS_DETAILS_KEY:
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                return None  # a garbled detail must not hide the error itself
    return None


def _from_parts(
    code: grpc.StatusCode | None, details: str | None, metadata: Iterable[tuple[str, Any]] | None
) -> BadgeflowError:
    code = code or grpc.StatusCode.UNKNOWN
    status = _rich_status(metadata)
    if status is not None and _CODES_BY_NUMBER.get(status.code) is not code:
        status = None  # the details belong to another status; trust the call's code
    message = details or (status.message if status is not None else "") or code.name
    return from_status(code, message, status)


def from_rpc_error(error: grpc.RpcError) -> BadgeflowError:
    """Turn a failed call into a typed exception, reading the rich status from the
    trailing metadata. Takes what a sync call raises (a `grpc.RpcError` that is also a
    `grpc.Call`) and what a `grpc.aio` call raises (`grpc.aio.AioRpcError`).

    Example:
        >>> try:                                   # doctest: +SKIP
        ...     stub.GetTemplate(request)
        ... except grpc.RpcError as rpc_error:
        ...     raise from_rpc_error(rpc_error) from rpc_error
    """
    return _from_parts(
        error.code() if hasattr(error, "code") else None,
        error.details() if hasattr(error, "details") else None,
        error.trailing_metadata() if hasattr(error, "trailing_metadata") else None,
    )


async def from_aio_call(call: grpc.aio.Call) -> BadgeflowError:
    """The typed exception of a finished, failed `grpc.aio` call (the asyncio
    counterpart of `grpc_status.rpc_status.aio.from_call`, tolerant of garbled details).

    Example:
        >>> if await call.code() is not grpc.StatusCode.OK:  # doctest: +SKIP
        ...     raise await from_aio_call(call)
    """
    return _from_parts(await call.code(), await call.details(), await call.trailing_metadata())
