"""Avro payloads: the documented byte walk-throughs decode to the documented records,
encode back byte for byte, and bytes of another shape are refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.bridges.openedx import codec
from tests.unit.bridges.conftest import CCX_BYTES, CCX_RECORD, PASSING_BYTES, PASSING_RECORD

SCHEMAS = Path(codec.__file__).parent / "schemas"


@pytest.mark.parametrize(
    ("event_type", "data", "record"),
    [
        pytest.param(codec.PASSING_STATUS_UPDATED, PASSING_BYTES, PASSING_RECORD, id="course"),
        pytest.param(codec.CCX_PASSING_STATUS_UPDATED, CCX_BYTES, CCX_RECORD, id="ccx"),
    ],
)
def test_documented_bytes_decode_and_encode_back(
    event_type: str, data: bytes, record: dict
) -> None:
    assert codec.decode(event_type, data) == record
    assert codec.encode(event_type, record) == data


def _field_paths(schema: dict, prefix: str = "") -> list[str]:
    paths = []
    for f in schema["fields"]:
        kind = f["type"]
        paths.append(prefix + f["name"])
        if isinstance(kind, dict) and kind["type"] == "record":
            paths += _field_paths(kind, prefix + f["name"] + ".")
    return paths


@pytest.mark.parametrize(
    ("event_type", "paths"),
    [
        pytest.param(
            codec.CCX_PASSING_STATUS_UPDATED,
            "is_passing user user.id user.is_active user.pii user.pii.username user.pii.email "
            "user.pii.name course course.ccx_course_key course.master_course_key "
            "course.display_name course.coach_email course.start course.end "
            "course.max_students_allowed",
            id="ccx-user-before-course",
        ),
        pytest.param(
            codec.BADGE_REVOKED,
            "uuid user user.id user.is_active user.pii user.pii.username user.pii.email "
            "user.pii.name template template.uuid template.origin template.name "
            "template.description template.image_url",
            id="badge",
        ),
    ],
)
def test_shipped_schemas_keep_the_wire_order(event_type: str, paths: str) -> None:
    schema = json.loads((SCHEMAS / f"{event_type}.avsc").read_text())
    (top,) = schema["fields"]
    assert (schema["name"], schema["namespace"]) == ("CloudEvent", event_type)
    assert _field_paths(top["type"]) == paths.split()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        pytest.param(PASSING_BYTES[:40], "the bytes end inside the record", id="truncated"),
        pytest.param(b"", "the bytes end inside the record", id="empty"),
        pytest.param(
            PASSING_BYTES + b"\x00",
            "1 bytes left over after the record (written with another schema?)",
            id="trailing",
        ),
    ],
)
def test_bytes_of_another_shape_are_refused_with_the_reason(data: bytes, why: str) -> None:
    with pytest.raises(codec.DecodeError) as caught:
        codec.decode(codec.PASSING_STATUS_UPDATED, data)
    assert str(caught.value) == f"not a {codec.PASSING_STATUS_UPDATED} Avro payload: {why}"


def test_a_registered_writer_schema_is_resolved_to_the_shipped_one() -> None:
    text = (SCHEMAS / f"{codec.PASSING_STATUS_UPDATED}.avsc").read_text()
    writer = codec.parse_writer_schema(json.dumps(json.loads(text), sort_keys=True))
    assert codec.decode(codec.PASSING_STATUS_UPDATED, PASSING_BYTES, writer) == PASSING_RECORD


def test_an_unknown_event_type_has_no_schema() -> None:
    with pytest.raises(KeyError):
        codec.schema_for("org.openedx.learning.course.enrollment.created.v1")
