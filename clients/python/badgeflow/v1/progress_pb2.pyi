import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AwardState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AWARD_STATE_UNSPECIFIED: _ClassVar[AwardState]
    AWARD_STATE_AWARDED: _ClassVar[AwardState]
    AWARD_STATE_REVOKED: _ClassVar[AwardState]

class RevokedBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVOKED_BY_UNSPECIFIED: _ClassVar[RevokedBy]
    REVOKED_BY_PENALTY: _ClassVar[RevokedBy]
    REVOKED_BY_ADMIN: _ClassVar[RevokedBy]

class AwardOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AWARD_ORIGIN_UNSPECIFIED: _ClassVar[AwardOrigin]
    AWARD_ORIGIN_RULES: _ClassVar[AwardOrigin]
    AWARD_ORIGIN_GRANT: _ClassVar[AwardOrigin]
    AWARD_ORIGIN_BACKFILL: _ClassVar[AwardOrigin]

class AwardEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AWARD_EVENT_KIND_UNSPECIFIED: _ClassVar[AwardEventKind]
    AWARD_EVENT_KIND_AWARDED: _ClassVar[AwardEventKind]
    AWARD_EVENT_KIND_REVOKED: _ClassVar[AwardEventKind]

class EarnedBadgeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EARNED_BADGE_STATE_UNSPECIFIED: _ClassVar[EarnedBadgeState]
    EARNED_BADGE_STATE_ISSUING: _ClassVar[EarnedBadgeState]
    EARNED_BADGE_STATE_PENDING: _ClassVar[EarnedBadgeState]
    EARNED_BADGE_STATE_ACCEPTED: _ClassVar[EarnedBadgeState]
    EARNED_BADGE_STATE_REJECTED: _ClassVar[EarnedBadgeState]
    EARNED_BADGE_STATE_EXPIRED: _ClassVar[EarnedBadgeState]
    EARNED_BADGE_STATE_ISSUE_FAILED: _ClassVar[EarnedBadgeState]
AWARD_STATE_UNSPECIFIED: AwardState
AWARD_STATE_AWARDED: AwardState
AWARD_STATE_REVOKED: AwardState
REVOKED_BY_UNSPECIFIED: RevokedBy
REVOKED_BY_PENALTY: RevokedBy
REVOKED_BY_ADMIN: RevokedBy
AWARD_ORIGIN_UNSPECIFIED: AwardOrigin
AWARD_ORIGIN_RULES: AwardOrigin
AWARD_ORIGIN_GRANT: AwardOrigin
AWARD_ORIGIN_BACKFILL: AwardOrigin
AWARD_EVENT_KIND_UNSPECIFIED: AwardEventKind
AWARD_EVENT_KIND_AWARDED: AwardEventKind
AWARD_EVENT_KIND_REVOKED: AwardEventKind
EARNED_BADGE_STATE_UNSPECIFIED: EarnedBadgeState
EARNED_BADGE_STATE_ISSUING: EarnedBadgeState
EARNED_BADGE_STATE_PENDING: EarnedBadgeState
EARNED_BADGE_STATE_ACCEPTED: EarnedBadgeState
EARNED_BADGE_STATE_REJECTED: EarnedBadgeState
EARNED_BADGE_STATE_EXPIRED: EarnedBadgeState
EARNED_BADGE_STATE_ISSUE_FAILED: EarnedBadgeState

class Award(_message.Message):
    __slots__ = ("id", "template_id", "badge", "learner_id", "sequence", "state", "award_time", "revoke_time", "revoked_by", "revoke_reason", "event_ids", "expire_time", "evidence", "origin", "grant_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AWARD_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    REVOKE_REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    GRANT_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    template_id: str
    badge: str
    learner_id: str
    sequence: int
    state: AwardState
    award_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    revoked_by: RevokedBy
    revoke_reason: str
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    expire_time: _timestamp_pb2.Timestamp
    evidence: _containers.RepeatedCompositeFieldContainer[EvidenceItem]
    origin: AwardOrigin
    grant_reason: str
    def __init__(self, id: _Optional[str] = ..., template_id: _Optional[str] = ..., badge: _Optional[str] = ..., learner_id: _Optional[str] = ..., sequence: _Optional[int] = ..., state: _Optional[_Union[AwardState, str]] = ..., award_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_by: _Optional[_Union[RevokedBy, str]] = ..., revoke_reason: _Optional[str] = ..., event_ids: _Optional[_Iterable[str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence: _Optional[_Iterable[_Union[EvidenceItem, _Mapping]]] = ..., origin: _Optional[_Union[AwardOrigin, str]] = ..., grant_reason: _Optional[str] = ...) -> None: ...

class EvidenceItem(_message.Message):
    __slots__ = ("kind", "name", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    value: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class RequirementProgress(_message.Message):
    __slots__ = ("name", "description", "fulfilled", "event_ids", "fulfill_time", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    FULFILL_TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    fulfilled: bool
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    fulfill_time: _timestamp_pb2.Timestamp
    detail: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., fulfilled: _Optional[bool] = ..., event_ids: _Optional[_Iterable[str]] = ..., fulfill_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class GroupProgress(_message.Message):
    __slots__ = ("name", "fulfilled", "fulfilled_by", "requirements")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_BY_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    fulfilled: bool
    fulfilled_by: str
    requirements: _containers.RepeatedCompositeFieldContainer[RequirementProgress]
    def __init__(self, name: _Optional[str] = ..., fulfilled: _Optional[bool] = ..., fulfilled_by: _Optional[str] = ..., requirements: _Optional[_Iterable[_Union[RequirementProgress, _Mapping]]] = ...) -> None: ...

class TemplateProgress(_message.Message):
    __slots__ = ("template_id", "badge", "learner_id", "fulfilled_groups", "total_groups", "percent", "groups", "award", "times_awarded", "update_time")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_GROUPS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    AWARD_FIELD_NUMBER: _ClassVar[int]
    TIMES_AWARDED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    badge: str
    learner_id: str
    fulfilled_groups: int
    total_groups: int
    percent: float
    groups: _containers.RepeatedCompositeFieldContainer[GroupProgress]
    award: Award
    times_awarded: int
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., badge: _Optional[str] = ..., learner_id: _Optional[str] = ..., fulfilled_groups: _Optional[int] = ..., total_groups: _Optional[int] = ..., percent: _Optional[float] = ..., groups: _Optional[_Iterable[_Union[GroupProgress, _Mapping]]] = ..., award: _Optional[_Union[Award, _Mapping]] = ..., times_awarded: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BadgeInProgress(_message.Message):
    __slots__ = ("template_id", "badge", "name", "description", "percent", "fulfilled_groups", "total_groups", "remaining", "update_time")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_GROUPS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    badge: str
    name: str
    description: str
    percent: float
    fulfilled_groups: int
    total_groups: int
    remaining: _containers.RepeatedScalarFieldContainer[str]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., badge: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., percent: _Optional[float] = ..., fulfilled_groups: _Optional[int] = ..., total_groups: _Optional[int] = ..., remaining: _Optional[_Iterable[str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AvailableBadge(_message.Message):
    __slots__ = ("template_id", "badge", "name", "description", "how_to_earn", "repeatable")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    HOW_TO_EARN_FIELD_NUMBER: _ClassVar[int]
    REPEATABLE_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    badge: str
    name: str
    description: str
    how_to_earn: _containers.RepeatedScalarFieldContainer[str]
    repeatable: bool
    def __init__(self, template_id: _Optional[str] = ..., badge: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., how_to_earn: _Optional[_Iterable[str]] = ..., repeatable: _Optional[bool] = ...) -> None: ...

class EarnedBadge(_message.Message):
    __slots__ = ("award_id", "template_id", "badge", "name", "description", "state", "award_time", "expire_time", "badge_url", "accept_url", "sequence")
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AWARD_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    BADGE_URL_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_URL_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    award_id: str
    template_id: str
    badge: str
    name: str
    description: str
    state: EarnedBadgeState
    award_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    badge_url: str
    accept_url: str
    sequence: int
    def __init__(self, award_id: _Optional[str] = ..., template_id: _Optional[str] = ..., badge: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., state: _Optional[_Union[EarnedBadgeState, str]] = ..., award_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., badge_url: _Optional[str] = ..., accept_url: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...
