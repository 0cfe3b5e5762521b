import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_OUTCOME_UNSPECIFIED: _ClassVar[EventOutcome]
    EVENT_OUTCOME_ACCEPTED: _ClassVar[EventOutcome]
    EVENT_OUTCOME_DUPLICATE: _ClassVar[EventOutcome]
    EVENT_OUTCOME_REJECTED: _ClassVar[EventOutcome]
EVENT_OUTCOME_UNSPECIFIED: EventOutcome
EVENT_OUTCOME_ACCEPTED: EventOutcome
EVENT_OUTCOME_DUPLICATE: EventOutcome
EVENT_OUTCOME_REJECTED: EventOutcome

class Learner(_message.Message):
    __slots__ = ("id", "email", "first_name", "last_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    first_name: str
    last_name: str
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "type", "occurred_at", "learner", "payload", "source", "payload_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    LEARNER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    occurred_at: _timestamp_pb2.Timestamp
    learner: Learner
    payload: _struct_pb2.Struct
    source: str
    payload_json: bytes
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., learner: _Optional[_Union[Learner, _Mapping]] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., source: _Optional[str] = ..., payload_json: _Optional[bytes] = ...) -> None: ...

class EventResult(_message.Message):
    __slots__ = ("event_id", "outcome", "reason_code", "reason")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    outcome: EventOutcome
    reason_code: str
    reason: str
    def __init__(self, event_id: _Optional[str] = ..., outcome: _Optional[_Union[EventOutcome, str]] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
