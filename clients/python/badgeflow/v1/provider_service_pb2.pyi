from badgeflow.v1 import provider_pb2 as _provider_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectProviderRequest(_message.Message):
    __slots__ = ("kind", "organization_id", "token", "environment", "base_url")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    organization_id: str
    token: str
    environment: str
    base_url: str
    def __init__(self, kind: _Optional[str] = ..., organization_id: _Optional[str] = ..., token: _Optional[str] = ..., environment: _Optional[str] = ..., base_url: _Optional[str] = ...) -> None: ...

class ConnectProviderResponse(_message.Message):
    __slots__ = ("connection", "created_template_ids")
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    connection: _provider_pb2.ProviderConnection
    created_template_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, connection: _Optional[_Union[_provider_pb2.ProviderConnection, _Mapping]] = ..., created_template_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ("connections",)
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    connections: _containers.RepeatedCompositeFieldContainer[_provider_pb2.ProviderConnection]
    def __init__(self, connections: _Optional[_Iterable[_Union[_provider_pb2.ProviderConnection, _Mapping]]] = ...) -> None: ...

class DisconnectProviderRequest(_message.Message):
    __slots__ = ("connection_id",)
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    def __init__(self, connection_id: _Optional[str] = ...) -> None: ...

class DisconnectProviderResponse(_message.Message):
    __slots__ = ("connection",)
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    connection: _provider_pb2.ProviderConnection
    def __init__(self, connection: _Optional[_Union[_provider_pb2.ProviderConnection, _Mapping]] = ...) -> None: ...

class SyncTemplatesRequest(_message.Message):
    __slots__ = ("connection_id",)
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    def __init__(self, connection_id: _Optional[str] = ...) -> None: ...

class SyncTemplatesResponse(_message.Message):
    __slots__ = ("created_template_ids", "updated_template_ids", "deactivated_template_ids")
    CREATED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATED_TEMPLATE_IDS_FIELD_NUMBER: _ClassVar[int]
    created_template_ids: _containers.RepeatedScalarFieldContainer[str]
    updated_template_ids: _containers.RepeatedScalarFieldContainer[str]
    deactivated_template_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, created_template_ids: _Optional[_Iterable[str]] = ..., updated_template_ids: _Optional[_Iterable[str]] = ..., deactivated_template_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListIssuancesRequest(_message.Message):
    __slots__ = ("state", "limit")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    state: _provider_pb2.IssuanceState
    limit: int
    def __init__(self, state: _Optional[_Union[_provider_pb2.IssuanceState, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class ListIssuancesResponse(_message.Message):
    __slots__ = ("issuances",)
    ISSUANCES_FIELD_NUMBER: _ClassVar[int]
    issuances: _containers.RepeatedCompositeFieldContainer[_provider_pb2.Issuance]
    def __init__(self, issuances: _Optional[_Iterable[_Union[_provider_pb2.Issuance, _Mapping]]] = ...) -> None: ...

class RetryIssuanceRequest(_message.Message):
    __slots__ = ("issuance_id",)
    ISSUANCE_ID_FIELD_NUMBER: _ClassVar[int]
    issuance_id: int
    def __init__(self, issuance_id: _Optional[int] = ...) -> None: ...

class RetryIssuanceResponse(_message.Message):
    __slots__ = ("issuance",)
    ISSUANCE_FIELD_NUMBER: _ClassVar[int]
    issuance: _provider_pb2.Issuance
    def __init__(self, issuance: _Optional[_Union[_provider_pb2.Issuance, _Mapping]] = ...) -> None: ...

class ListProviderBadgesRequest(_message.Message):
    __slots__ = ("learner_id", "template_id")
    LEARNER_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    learner_id: str
    template_id: str
    def __init__(self, learner_id: _Optional[str] = ..., template_id: _Optional[str] = ...) -> None: ...

class ListProviderBadgesResponse(_message.Message):
    __slots__ = ("badges",)
    BADGES_FIELD_NUMBER: _ClassVar[int]
    badges: _containers.RepeatedCompositeFieldContainer[_provider_pb2.ProviderBadge]
    def __init__(self, badges: _Optional[_Iterable[_Union[_provider_pb2.ProviderBadge, _Mapping]]] = ...) -> None: ...
