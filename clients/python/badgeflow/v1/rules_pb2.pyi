from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DiagnosticSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIAGNOSTIC_SEVERITY_UNSPECIFIED: _ClassVar[DiagnosticSeverity]
    DIAGNOSTIC_SEVERITY_ERROR: _ClassVar[DiagnosticSeverity]
    DIAGNOSTIC_SEVERITY_WARNING: _ClassVar[DiagnosticSeverity]
DIAGNOSTIC_SEVERITY_UNSPECIFIED: DiagnosticSeverity
DIAGNOSTIC_SEVERITY_ERROR: DiagnosticSeverity
DIAGNOSTIC_SEVERITY_WARNING: DiagnosticSeverity

class RuleFile(_message.Message):
    __slots__ = ("name", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content: str
    def __init__(self, name: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class SourceSpan(_message.Message):
    __slots__ = ("file", "line", "column", "end_line", "end_column")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    END_LINE_FIELD_NUMBER: _ClassVar[int]
    END_COLUMN_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ..., end_line: _Optional[int] = ..., end_column: _Optional[int] = ...) -> None: ...

class RuleDiagnostic(_message.Message):
    __slots__ = ("code", "severity", "message", "hint", "span", "source_line", "rendered")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LINE_FIELD_NUMBER: _ClassVar[int]
    RENDERED_FIELD_NUMBER: _ClassVar[int]
    code: str
    severity: DiagnosticSeverity
    message: str
    hint: str
    span: SourceSpan
    source_line: str
    rendered: str
    def __init__(self, code: _Optional[str] = ..., severity: _Optional[_Union[DiagnosticSeverity, str]] = ..., message: _Optional[str] = ..., hint: _Optional[str] = ..., span: _Optional[_Union[SourceSpan, _Mapping]] = ..., source_line: _Optional[str] = ..., rendered: _Optional[str] = ...) -> None: ...

class RuleDiagnostics(_message.Message):
    __slots__ = ("diagnostics",)
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    diagnostics: _containers.RepeatedCompositeFieldContainer[RuleDiagnostic]
    def __init__(self, diagnostics: _Optional[_Iterable[_Union[RuleDiagnostic, _Mapping]]] = ...) -> None: ...

class BadgeSummary(_message.Message):
    __slots__ = ("slug", "template_id", "group_count", "requirement_count", "penalty_count")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_COUNT_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENALTY_COUNT_FIELD_NUMBER: _ClassVar[int]
    slug: str
    template_id: str
    group_count: int
    requirement_count: int
    penalty_count: int
    def __init__(self, slug: _Optional[str] = ..., template_id: _Optional[str] = ..., group_count: _Optional[int] = ..., requirement_count: _Optional[int] = ..., penalty_count: _Optional[int] = ...) -> None: ...
