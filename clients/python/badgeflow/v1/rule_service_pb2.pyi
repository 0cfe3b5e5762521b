import datetime

from badgeflow.v1 import rules_pb2 as _rules_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValidateRulesRequest(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[_rules_pb2.RuleFile]
    def __init__(self, files: _Optional[_Iterable[_Union[_rules_pb2.RuleFile, _Mapping]]] = ...) -> None: ...

class ValidateRulesResponse(_message.Message):
    __slots__ = ("valid", "diagnostics", "badges")
    VALID_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    BADGES_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    diagnostics: _containers.RepeatedCompositeFieldContainer[_rules_pb2.RuleDiagnostic]
    badges: _containers.RepeatedCompositeFieldContainer[_rules_pb2.BadgeSummary]
    def __init__(self, valid: _Optional[bool] = ..., diagnostics: _Optional[_Iterable[_Union[_rules_pb2.RuleDiagnostic, _Mapping]]] = ..., badges: _Optional[_Iterable[_Union[_rules_pb2.BadgeSummary, _Mapping]]] = ...) -> None: ...

class ApplyRulesRequest(_message.Message):
    __slots__ = ("files", "expected_version")
    FILES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[_rules_pb2.RuleFile]
    expected_version: int
    def __init__(self, files: _Optional[_Iterable[_Union[_rules_pb2.RuleFile, _Mapping]]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ApplyRulesResponse(_message.Message):
    __slots__ = ("version", "created_template_ids", "changed_template_ids", "unbound_template_ids", "badges")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    UNBOUND_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    BADGES_FIELD_NUMBER: _ClassVar[int]
    version: int
    created_template_ids: _containers.RepeatedScalarFieldContainer[str]
    changed_template_ids: _containers.RepeatedScalarFieldContainer[str]
    unbound_template_ids: _containers.RepeatedScalarFieldContainer[str]
    badges: _containers.RepeatedCompositeFieldContainer[_rules_pb2.BadgeSummary]
    def __init__(self, version: _Optional[int] = ..., created_template_ids: _Optional[_Iterable[str]] = ..., changed_template_ids: _Optional[_Iterable[str]] = ..., unbound_template_ids: _Optional[_Iterable[str]] = ..., badges: _Optional[_Iterable[_Union[_rules_pb2.BadgeSummary, _Mapping]]] = ...) -> None: ...

class GetRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRulesResponse(_message.Message):
    __slots__ = ("version", "files", "applied_at", "badges")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    BADGES_FIELD_NUMBER: _ClassVar[int]
    version: int
    files: _containers.RepeatedCompositeFieldContainer[_rules_pb2.RuleFile]
    applied_at: _timestamp_pb2.Timestamp
    badges: _containers.RepeatedCompositeFieldContainer[_rules_pb2.BadgeSummary]
    def __init__(self, version: _Optional[int] = ..., files: _Optional[_Iterable[_Union[_rules_pb2.RuleFile, _Mapping]]] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., badges: _Optional[_Iterable[_Union[_rules_pb2.BadgeSummary, _Mapping]]] = ...) -> None: ...

class PlanRulesRequest(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[_rules_pb2.RuleFile]
    def __init__(self, files: _Optional[_Iterable[_Union[_rules_pb2.RuleFile, _Mapping]]] = ...) -> None: ...

class PlanRulesResponse(_message.Message):
    __slots__ = ("current_version", "added_template_ids", "changed_template_ids", "unbound_template_ids", "badges", "events_replayed")
    CURRENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ADDED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    UNBOUND_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    BADGES_FIELD_NUMBER: _ClassVar[int]
    EVENTS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    current_version: int
    added_template_ids: _containers.RepeatedScalarFieldContainer[str]
    changed_template_ids: _containers.RepeatedScalarFieldContainer[str]
    unbound_template_ids: _containers.RepeatedScalarFieldContainer[str]
    badges: _containers.RepeatedCompositeFieldContainer[BadgePlan]
    events_replayed: int
    def __init__(self, current_version: _Optional[int] = ..., added_template_ids: _Optional[_Iterable[str]] = ..., changed_template_ids: _Optional[_Iterable[str]] = ..., unbound_template_ids: _Optional[_Iterable[str]] = ..., badges: _Optional[_Iterable[_Union[BadgePlan, _Mapping]]] = ..., events_replayed: _Optional[int] = ...) -> None: ...

class BadgePlan(_message.Message):
    __slots__ = ("slug", "template_id", "change", "backfill_awards", "template_active", "backfill_learner_ids")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_AWARDS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_LEARNER_IDS_FIELD_NUMBER: _ClassVar[int]
    slug: str
    template_id: str
    change: str
    backfill_awards: int
    template_active: bool
    backfill_learner_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, slug: _Optional[str] = ..., template_id: _Optional[str] = ..., change: _Optional[str] = ..., backfill_awards: _Optional[int] = ..., template_active: _Optional[bool] = ..., backfill_learner_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BackfillRulesRequest(_message.Message):
    __slots__ = ("template_ids", "dry_run")
    TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    template_ids: _containers.RepeatedScalarFieldContainer[str]
    dry_run: bool
    def __init__(self, template_ids: _Optional[_Iterable[str]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class BackfillRulesResponse(_message.Message):
    __slots__ = ("events_replayed", "events_total", "learners_replayed", "awards", "done", "results")
    EVENTS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    LEARNERS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    AWARDS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    events_replayed: int
    events_total: int
    learners_replayed: int
    awards: int
    done: bool
    results: _containers.RepeatedCompositeFieldContainer[BackfillResult]
    def __init__(self, events_replayed: _Optional[int] = ..., events_total: _Optional[int] = ..., learners_replayed: _Optional[int] = ..., awards: _Optional[int] = ..., done: _Optional[bool] = ..., results: _Optional[_Iterable[_Union[BackfillResult, _Mapping]]] = ...) -> None: ...

class BackfillResult(_message.Message):
    __slots__ = ("template_id", "badge", "awarded_learner_ids", "awards", "already_held", "revoked_by_admin", "progress_updated")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    AWARDED_LEARNER_IDS_FIELD_NUMBER: _ClassVar[int]
    AWARDS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_HELD_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_ADMIN_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_UPDATED_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    badge: str
    awarded_learner_ids: _containers.RepeatedScalarFieldContainer[str]
    awards: int
    already_held: int
    revoked_by_admin: int
    progress_updated: int
    def __init__(self, template_id: _Optional[str] = ..., badge: _Optional[str] = ..., awarded_learner_ids: _Optional[_Iterable[str]] = ..., awards: _Optional[int] = ..., already_held: _Optional[int] = ..., revoked_by_admin: _Optional[int] = ..., progress_updated: _Optional[int] = ...) -> None: ...
