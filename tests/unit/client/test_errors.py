"""from_rpc_error: every rich-status detail kind becomes a field of the typed exception."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from badgeflow.v1 import rules_pb2
from badgeflow_client import errors
from badgeflow_client.errors import FieldViolation, PreconditionViolation, from_rpc_error
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2


class FakeRpcError(grpc.RpcError):
    """What a failed sync call raises: an RpcError that is also a Call."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailing: tuple[tuple[str, Any], ...] = ()
    ) -> None:
        self._code = code
        self._details = details
        self._trailing = trailing

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._trailing


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _rpc_error(code: grpc.StatusCode, message: str, *details: Any) -> FakeRpcError:
    status = status_pb2.Status(
        code=code.value[0], message=message, details=[_pack(d) for d in details]
    )
    return FakeRpcError(code, message, (("grpc-status-details-bin", status.SerializeToString()),))


def _info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain="badgeflow", metadata=metadata)


def test_not_found_carries_reason_and_metadata() -> None:
    error = from_rpc_error(
        _rpc_error(
            grpc.StatusCode.NOT_FOUND,
            "no template 'credly:x'",
            _info("TEMPLATE_NOT_FOUND", template_id="credly:x"),
        )
    )
    assert type(error) is errors.NotFound
    assert (error.code, error.reason, error.message, error.metadata) == (
        grpc.StatusCode.NOT_FOUND,
        "TEMPLATE_NOT_FOUND",
        "no template 'credly:x'",
        {"template_id": "credly:x"},
    )
    assert (
        error.violations,
        error.precondition_violations,
        error.diagnostics,
        error.retry_after,
    ) == (
        [],
        [],
        [],
        None,
    )
    assert str(error) == "no template 'credly:x'"


def test_invalid_argument_carries_field_violations() -> None:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field="files[0].name", description="give every rule file a name"
            ),
            error_details_pb2.BadRequest.FieldViolation(
                field="files", description="at most 1000 files per set"
            ),
        ]
    )
    error = from_rpc_error(
        _rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the rule files are not a valid set",
            _info("INVALID_RULE_FILES"),
            bad_request,
        )
    )
    assert type(error) is errors.InvalidArgument
    assert (error.code, error.reason, error.message, error.metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_RULE_FILES",
        "the rule files are not a valid set",
        {},
    )
    assert error.violations == [
        FieldViolation("files[0].name", "give every rule file a name"),
        FieldViolation("files", "at most 1000 files per set"),
    ]
    assert (error.precondition_violations, error.diagnostics, error.retry_after) == ([], [], None)


def test_rule_errors_carry_diagnostics() -> None:
    diagnostic = rules_pb2.RuleDiagnostic(
        code="E203",
        severity=rules_pb2.DIAGNOSTIC_SEVERITY_ERROR,
        message="unknown field 'grade'",
        hint="did you mean 'score'?",
        span=rules_pb2.SourceSpan(file="a.badge", line=3, column=14, end_line=3, end_column=19),
        source_line="    require on course_passed where grade > 1",
        rendered="a.badge:3:14: error[E203]: ...",
    )
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field="rules", description="a.badge:3:14: error[E203]: ..."
            )
        ]
    )
    error = from_rpc_error(
        _rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the rules have 1 error(s)",
            _info("RULES_INVALID", error_count="1"),
            bad_request,
            rules_pb2.RuleDiagnostics(diagnostics=[diagnostic]),
        )
    )
    assert type(error) is errors.InvalidArgument
    assert (error.reason, error.metadata) == ("RULES_INVALID", {"error_count": "1"})
    assert error.violations == [FieldViolation("rules", "a.badge:3:14: error[E203]: ...")]
    assert error.diagnostics == [diagnostic]


def test_failed_precondition_carries_precondition_violations() -> None:
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="STALE_RULES_VERSION",
                subject="rules",
                description="the rules changed since version 1",
            ),
        ]
    )
    error = from_rpc_error(
        _rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION,
            "the rules changed since version 1",
            _info("STALE_RULES_VERSION", subject="rules", current_version="2"),
            failure,
        )
    )
    assert type(error) is errors.FailedPrecondition
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "STALE_RULES_VERSION",
        {"subject": "rules", "current_version": "2"},
    )
    assert error.precondition_violations == [
        PreconditionViolation("STALE_RULES_VERSION", "rules", "the rules changed since version 1")
    ]
    assert (error.violations, error.diagnostics, error.retry_after) == ([], [], None)


def test_retry_info_becomes_retry_after() -> None:
    retry = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000)
    )
    error = from_rpc_error(
        _rpc_error(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "this stream fell too far behind",
            _info("WATCHER_TOO_SLOW"),
            retry,
        )
    )
    assert type(error) is errors.ResourceExhausted
    assert (error.reason, error.message, error.retry_after) == (
        "WATCHER_TOO_SLOW",
        "this stream fell too far behind",
        1.5,
    )


def test_unknown_detail_types_are_ignored() -> None:
    error = from_rpc_error(
        _rpc_error(
            grpc.StatusCode.INTERNAL,
            "internal error",
            _info("INTERNAL", correlation_id="abc"),
            error_details_pb2.DebugInfo(detail="x"),
        )
    )
    assert type(error) is errors.Internal
    assert (error.reason, error.metadata) == ("INTERNAL", {"correlation_id": "abc"})
    assert error.correlation_id == "abc"


def test_transport_error_without_rich_status() -> None:
    error = from_rpc_error(
        FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
    )
    assert type(error) is errors.Unavailable
    assert (
        error.code,
        error.reason,
        error.message,
        error.metadata,
        error.violations,
        error.retry_after,
    ) == (
        grpc.StatusCode.UNAVAILABLE,
        "",
        "failed to connect to all addresses",
        {},
        [],
        None,
    )


def test_details_of_another_status_code_are_not_trusted() -> None:
    status = status_pb2.Status(
        code=code_pb2.NOT_FOUND, message="stale", details=[_pack(_info("X"))]
    )
    error = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.UNKNOWN,
            "boom",
            (("grpc-status-details-bin", status.SerializeToString()),),
        )
    )
    assert (type(error), error.reason, error.message) == (errors.UnknownError, "", "boom")


def test_garbled_status_details_are_ignored() -> None:
    error = from_rpc_error(
        FakeRpcError(grpc.StatusCode.NOT_FOUND, "gone", (("grpc-status-details-bin", b"\xff\xff"),))
    )
    assert (type(error), error.reason, error.message) == (errors.NotFound, "", "gone")


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        pytest.param(
            grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgument, id="invalid-argument"
        ),
        pytest.param(grpc.StatusCode.NOT_FOUND, errors.NotFound, id="not-found"),
        pytest.param(grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists, id="already-exists"),
        pytest.param(
            grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition, id="failed-precondition"
        ),
        pytest.param(
            grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied, id="permission-denied"
        ),
        pytest.param(grpc.StatusCode.UNAUTHENTICATED, errors.Unauthenticated, id="unauthenticated"),
        pytest.param(
            grpc.StatusCode.RESOURCE_EXHAUSTED, errors.ResourceExhausted, id="resource-exhausted"
        ),
        pytest.param(grpc.StatusCode.UNAVAILABLE, errors.Unavailable, id="unavailable"),
        pytest.param(
            grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded, id="deadline-exceeded"
        ),
        pytest.param(grpc.StatusCode.INTERNAL, errors.Internal, id="internal"),
        pytest.param(grpc.StatusCode.CANCELLED, errors.Cancelled, id="cancelled"),
        pytest.param(grpc.StatusCode.UNIMPLEMENTED, errors.Unimplemented, id="unimplemented"),
        pytest.param(grpc.StatusCode.UNKNOWN, errors.UnknownError, id="unknown"),
        pytest.param(grpc.StatusCode.ABORTED, errors.UnknownError, id="aborted-falls-back"),
        pytest.param(grpc.StatusCode.DATA_LOSS, errors.UnknownError, id="data-loss-falls-back"),
    ],
)
def test_each_code_maps_to_its_class(
    code: grpc.StatusCode, cls: type[errors.BadgeflowError]
) -> None:
    error = from_rpc_error(_rpc_error(code, "msg", _info("SOME_REASON")))
    assert (type(error), error.code, error.reason, error.message) == (
        cls,
        code,
        "SOME_REASON",
        "msg",
    )
    assert isinstance(error, errors.BadgeflowError)
