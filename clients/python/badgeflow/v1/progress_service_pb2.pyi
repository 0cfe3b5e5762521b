from badgeflow.v1 import common_pb2 as _common_pb2
from badgeflow.v1 import event_pb2 as _event_pb2
from badgeflow.v1 import progress_pb2 as _progress_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
    __slots__ = ("template_id", "page", "completed_only")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_ONLY_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    page: _common_pb2.PageRequest
    completed_only: bool
    def __init__(self, template_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., completed_only: _Optional[bool] = ...) -> None: ...

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
