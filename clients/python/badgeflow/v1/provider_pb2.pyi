import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IssuanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ISSUANCE_STATE_UNSPECIFIED: _ClassVar[IssuanceState]
    ISSUANCE_STATE_PENDING: _ClassVar[IssuanceState]
    ISSUANCE_STATE_SENT: _ClassVar[IssuanceState]
    ISSUANCE_STATE_FAILED: _ClassVar[IssuanceState]
ISSUANCE_STATE_UNSPECIFIED: IssuanceState
ISSUANCE_STATE_PENDING: IssuanceState
ISSUANCE_STATE_SENT: IssuanceState
ISSUANCE_STATE_FAILED: IssuanceState

class ProviderConnection(_message.Message):
    __slots__ = ("id", "kind", "name", "organization_id", "base_url", "active", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    name: str
    organization_id: str
    base_url: str
    active: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., organization_id: _Optional[str] = ..., base_url: _Optional[str] = ..., active: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Issuance(_message.Message):
    __slots__ = ("id", "award_id", "action", "template_id", "state", "attempts", "next_attempt_time", "last_error", "provider_badge_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_BADGE_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    award_id: str
    action: str
    template_id: str
    state: IssuanceState
    attempts: int
    next_attempt_time: _timestamp_pb2.Timestamp
    last_error: str
    provider_badge_id: str
    def __init__(self, id: _Optional[int] = ..., award_id: _Optional[str] = ..., action: _Optional[str] = ..., template_id: _Optional[str] = ..., state: _Optional[_Union[IssuanceState, str]] = ..., attempts: _Optional[int] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., provider_badge_id: _Optional[str] = ...) -> None: ...

class ProviderBadge(_message.Message):
    __slots__ = ("provider", "external_id", "template_external_id", "state", "recipient_email", "award_id", "issue_time", "expire_time", "replaced_by", "url", "accept_url")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_EMAIL_FIELD_NUMBER: _ClassVar[int]
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REPLACED_BY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_URL_FIELD_NUMBER: _ClassVar[int]
    provider: str
    external_id: str
    template_external_id: str
    state: str
    recipient_email: str
    award_id: str
    issue_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    replaced_by: str
    url: str
    accept_url: str
    def __init__(self, provider: _Optional[str] = ..., external_id: _Optional[str] = ..., template_external_id: _Optional[str] = ..., state: _Optional[str] = ..., recipient_email: _Optional[str] = ..., award_id: _Optional[str] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replaced_by: _Optional[str] = ..., url: _Optional[str] = ..., accept_url: _Optional[str] = ...) -> None: ...
