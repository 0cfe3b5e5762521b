import datetime

from badgeflow.v1 import common_pb2 as _common_pb2
from badgeflow.v1 import event_pb2 as _event_pb2
from badgeflow.v1 import progress_pb2 as _progress_pb2
from badgeflow.v1 import provider_pb2 as _provider_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProgressStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROGRESS_STATUS_UNSPECIFIED: _ClassVar[ProgressStatus]
    PROGRESS_STATUS_IN_PROGRESS: _ClassVar[ProgressStatus]
    PROGRESS_STATUS_COMPLETED: _ClassVar[ProgressStatus]
PROGRESS_STATUS_UNSPECIFIED: ProgressStatus
PROGRESS_STATUS_IN_PROGRESS: ProgressStatus
PROGRESS_STATUS_COMPLETED: ProgressStatus

class GetLearnerProgressRequest(_message.Message):
    __slots__ = ("learner_id",)
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    learner_id: str
    def __init__(self, learner_id: _Optional[str] = ...) -> None: ...

class GetLearnerProgressResponse(_message.Message):
    __slots__ = ("learner", "progress")
    LEARNER_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    learner: _event_pb2.Learner
    progress: _containers.RepeatedCompositeFieldContainer[_progress_pb2.TemplateProgress]
    def __init__(self, learner: _Optional[_Union[_event_pb2.Learner, _Mapping]] = ..., progress: _Optional[_Iterable[_Union[_progress_pb2.TemplateProgress, _Mapping]]] = ...) -> None: ...

class ListTemplateProgressRequest(_message.Message):
    __slots__ = ("template_id", "page", "completed_only", "status", "min_percent", "updated_after")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_ONLY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MIN_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    page: _common_pb2.PageRequest
    completed_only: bool
    status: ProgressStatus
    min_percent: float
    updated_after: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., completed_only: _Optional[bool] = ..., status: _Optional[_Union[ProgressStatus, str]] = ..., min_percent: _Optional[float] = ..., updated_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTemplateProgressResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_progress_pb2.TemplateProgress]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[_progress_pb2.TemplateProgress, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchAwardsRequest(_message.Message):
    __slots__ = ("learner_id", "template_id")
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    learner_id: str
    template_id: str
    def __init__(self, learner_id: _Optional[str] = ..., template_id: _Optional[str] = ...) -> None: ...

class WatchAwardsResponse(_message.Message):
    __slots__ = ("kind", "award")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AWARD_FIELD_NUMBER: _ClassVar[int]
    kind: _progress_pb2.AwardEventKind
    award: _progress_pb2.Award
    def __init__(self, kind: _Optional[_Union[_progress_pb2.AwardEventKind, str]] = ..., award: _Optional[_Union[_progress_pb2.Award, _Mapping]] = ...) -> None: ...

class GetLearnerBadgesRequest(_message.Message):
    __slots__ = ("learner_id",)
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    learner_id: str
    def __init__(self, learner_id: _Optional[str] = ...) -> None: ...

class GetLearnerBadgesResponse(_message.Message):
    __slots__ = ("in_progress", "available", "earned")
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    EARNED_FIELD_NUMBER: _ClassVar[int]
    in_progress: _containers.RepeatedCompositeFieldContainer[_progress_pb2.BadgeInProgress]
    available: _containers.RepeatedCompositeFieldContainer[_progress_pb2.AvailableBadge]
    earned: _containers.RepeatedCompositeFieldContainer[_progress_pb2.EarnedBadge]
    def __init__(self, in_progress: _Optional[_Iterable[_Union[_progress_pb2.BadgeInProgress, _Mapping]]] = ..., available: _Optional[_Iterable[_Union[_progress_pb2.AvailableBadge, _Mapping]]] = ..., earned: _Optional[_Iterable[_Union[_progress_pb2.EarnedBadge, _Mapping]]] = ...) -> None: ...

class ListLearnerAwardsRequest(_message.Message):
    __slots__ = ("learner_id", "exclude_revoked")
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    learner_id: str
    exclude_revoked: bool
    def __init__(self, learner_id: _Optional[str] = ..., exclude_revoked: _Optional[bool] = ...) -> None: ...

class LearnerAward(_message.Message):
    __slots__ = ("award", "template_id", "template_name", "provider_badge", "events", "issued_on_provider")
    AWARD_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_BADGE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    award: _progress_pb2.Award
    template_id: str
    template_name: str
    provider_badge: _provider_pb2.ProviderBadge
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    issued_on_provider: bool
    def __init__(self, award: _Optional[_Union[_progress_pb2.Award, _Mapping]] = ..., template_id: _Optional[str] = ..., template_name: _Optional[str] = ..., provider_badge: _Optional[_Union[_provider_pb2.ProviderBadge, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., issued_on_provider: _Optional[bool] = ...) -> None: ...

class ListLearnerAwardsResponse(_message.Message):
    __slots__ = ("learner", "awards")
    LEARNER_FIELD_NUMBER: _ClassVar[int]
    AWARDS_FIELD_NUMBER: _ClassVar[int]
    learner: _event_pb2.Learner
    awards: _containers.RepeatedCompositeFieldContainer[LearnerAward]
    def __init__(self, learner: _Optional[_Union[_event_pb2.Learner, _Mapping]] = ..., awards: _Optional[_Iterable[_Union[LearnerAward, _Mapping]]] = ...) -> None: ...
