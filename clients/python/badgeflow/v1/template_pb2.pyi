import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequirementSummary(_message.Message):
    __slots__ = ("name", "group", "event_type", "description", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    group: str
    event_type: str
    description: str
    kind: str
    def __init__(self, name: _Optional[str] = ..., group: _Optional[str] = ..., event_type: _Optional[str] = ..., description: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class PenaltySummary(_message.Message):
    __slots__ = ("name", "event_type", "description", "resets")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RESETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    event_type: str
    description: str
    resets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., event_type: _Optional[str] = ..., description: _Optional[str] = ..., resets: _Optional[_Iterable[str]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "provider", "external_id", "name", "description", "active", "badge", "repeatable", "requirements", "penalties", "create_time", "update_time", "issue_method", "expiry", "evidence_names")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    REPEATABLE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    PENALTIES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ISSUE_METHOD_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_NAMES_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    external_id: str
    name: str
    description: str
    active: bool
    badge: str
    repeatable: bool
    requirements: _containers.RepeatedCompositeFieldContainer[RequirementSummary]
    penalties: _containers.RepeatedCompositeFieldContainer[PenaltySummary]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    issue_method: str
    expiry: str
    evidence_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., external_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., active: _Optional[bool] = ..., badge: _Optional[str] = ..., repeatable: _Optional[bool] = ..., requirements: _Optional[_Iterable[_Union[RequirementSummary, _Mapping]]] = ..., penalties: _Optional[_Iterable[_Union[PenaltySummary, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issue_method: _Optional[str] = ..., expiry: _Optional[str] = ..., evidence_names: _Optional[_Iterable[str]] = ...) -> None: ...
