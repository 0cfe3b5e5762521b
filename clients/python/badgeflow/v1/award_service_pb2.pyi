from badgeflow.v1 import event_pb2 as _event_pb2
from badgeflow.v1 import progress_pb2 as _progress_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RevokeAwardRequest(_message.Message):
    __slots__ = ("award_id", "reason")
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    award_id: str
    reason: str
    def __init__(self, award_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeAwardResponse(_message.Message):
    __slots__ = ("award",)
    AWARD_FIELD_NUMBER: _ClassVar[int]
    award: _progress_pb2.Award
    def __init__(self, award: _Optional[_Union[_progress_pb2.Award, _Mapping]] = ...) -> None: ...

class GrantAwardRequest(_message.Message):
    __slots__ = ("template_id", "learner_id", "reason", "learner")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LEARNER_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    learner_id: str
    reason: str
    learner: _event_pb2.Learner
    def __init__(self, template_id: _Optional[str] = ..., learner_id: _Optional[str] = ..., reason: _Optional[str] = ..., learner: _Optional[_Union[_event_pb2.Learner, _Mapping]] = ...) -> None: ...

class GrantAwardResponse(_message.Message):
    __slots__ = ("award",)
    AWARD_FIELD_NUMBER: _ClassVar[int]
    award: _progress_pb2.Award
    def __init__(self, award: _Optional[_Union[_progress_pb2.Award, _Mapping]] = ...) -> None: ...

class ReissueAwardRequest(_message.Message):
    __slots__ = ("award_id",)
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    award_id: str
    def __init__(self, award_id: _Optional[str] = ...) -> None: ...

class ReissueAwardResponse(_message.Message):
    __slots__ = ("award", "issuance_id")
    AWARD_FIELD_NUMBER: _ClassVar[int]
    ISSUANCE_ID_FIELD_NUMBER: _ClassVar[int]
    award: _progress_pb2.Award
    issuance_id: int
    def __init__(self, award: _Optional[_Union[_progress_pb2.Award, _Mapping]] = ..., issuance_id: _Optional[int] = ...) -> None: ...
