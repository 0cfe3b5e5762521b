"""The requests both clients send, built in one place (`badgeflow_client._calls`)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from badgeflow.v1 import (
    award_service_pb2,
    common_pb2,
    event_pb2,
    event_service_pb2,
    progress_service_pb2,
    rule_service_pb2,
    template_service_pb2,
)
from badgeflow_client import BadgeflowError, _calls


def test_list_templates_asks_for_each_page() -> None:
    paged = _calls.list_templates(active_only=True, page_size=2)
    assert paged.page("tok").request == template_service_pb2.ListTemplatesRequest(
        page=common_pb2.PageRequest(page_size=2, page_token="tok"), active_only=True
    )


def test_template_progress_sends_every_filter() -> None:
    where = _calls.ProgressFilter(
        completed_only=False,
        status=progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS,
        min_percent=50.0,
        updated_after=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )
    request = _calls.template_progress("credly:t", where, page_size=10).page("").request
    expected = progress_service_pb2.ListTemplateProgressRequest(
        template_id="credly:t",
        page=common_pb2.PageRequest(page_size=10),
        status=progress_service_pb2.PROGRESS_STATUS_IN_PROGRESS,
        min_percent=50.0,
    )
    expected.updated_after.FromDatetime(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert request == expected
    assert request.updated_after.ToJsonString() == "2026-11-23T10:00:00Z"


def test_template_progress_without_filters_leaves_updated_after_unset() -> None:
    request = _calls.template_progress("credly:t", _calls.ProgressFilter(), 10).page("").request
    assert isinstance(request, progress_service_pb2.ListTemplateProgressRequest)
    assert request.HasField("updated_after") is False


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: _calls.list_templates(False, 0),
            "page_size must be at least 1, not 0",
            id="page-size",
        ),
        pytest.param(
            lambda: _calls.template_progress(
                "t", _calls.ProgressFilter(updated_after=datetime(2026, 1, 1)), 10
            ),
            "updated_after must be timezone-aware (e.g. datetime.now(UTC))",
            id="naive-updated-after",
        ),
        pytest.param(
            lambda: _calls.check_batch_size(1001),
            "batch_size must be between 1 and 1000, not 1001",
            id="batch-size",
        ),
    ],
)
def test_bad_arguments_fail_before_any_call(build: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        build()  # type: ignore[operator]
    assert str(raised.value) == message


def test_backfill_takes_a_sequence_of_ids_not_one_string() -> None:
    assert _calls.backfill_rules(["t1", "t2"], dry_run=True).request == (
        rule_service_pb2.BackfillRulesRequest(template_ids=["t1", "t2"], dry_run=True)
    )
    with pytest.raises(TypeError):
        _calls.backfill_rules("t1", dry_run=False)


def test_grant_award_names_the_learner_twice() -> None:
    learner = event_pb2.Learner(id="L9", email="l9@example.org")
    assert _calls.grant_award("credly:t", learner, "in person").request == (
        award_service_pb2.GrantAwardRequest(
            template_id="credly:t", learner_id="L9", reason="in person", learner=learner
        )
    )


def test_stream_requests_number_lazy_batches_from_one() -> None:
    events = (event_pb2.Event(id=f"e{i}") for i in range(5))
    requests = list(_calls.stream_requests(events, batch_size=2))
    assert [(r.sequence, [e.id for e in r.events]) for r in requests] == [
        (1, ["e0", "e1"]),
        (2, ["e2", "e3"]),
        (3, ["e4"]),
    ]


def test_an_acknowledgement_out_of_order_is_an_error() -> None:
    response = event_service_pb2.StreamEventsResponse(sequence=2)
    with pytest.raises(BadgeflowError) as raised:
        _calls.acknowledged(1, response)
    assert (raised.value.code, str(raised.value)) == (
        grpc.StatusCode.INTERNAL,
        "acknowledgement out of order: got batch 2, expected 1",
    )
