"""How both clients open their channel: retries from the service config, TLS
credentials, and the metadata sent on every call.

`service_config.json` (shipped in the package) names every unary RPC and retries only
the idempotent ones (reads, Validate/Plan, PublishEvents — idempotent by event id —,
Activate/Deactivate template, DisconnectProvider) on UNAVAILABLE, with exponential
backoff. Calls that create or change state once (ApplyRules, GrantAward, ReissueAward,
RevokeAward, ConnectProvider, SyncTemplates, RetryIssuance) are never retried, nor are
the streams.

Deadlines are not in the config: grpcio applies a service-config `timeout` about a
second or two early (grpc/grpc#34547, #40633; measured 1.8 s early with grpcio 1.85),
so a 1 s timeout would fail at once. The clients pass their `timeout` on every unary
call instead; it bounds all the attempts of a retried call together.

    >>> idempotent = service_config(retries=True)["methodConfig"][0]
    >>> idempotent["retryPolicy"]["maxAttempts"], idempotent["retryPolicy"]["retryableStatusCodes"]
    (4, ['UNAVAILABLE'])
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, ClassVar

import grpc

from badgeflow_client._calls import ServerStream, Stubs

__all__ = [
    "DEFAULT_RPC_TIMEOUT",
    "ClientBase",
    "call_metadata",
    "channel_options",
    "check_timeout",
    "credentials",
    "service_config",
]

DEFAULT_RPC_TIMEOUT = 10.0
"""Seconds a unary call may take, retries included; streams have no deadline unless given."""
SERVICE_CONFIG_RESOURCE = "service_config.json"
USER_AGENT = "badgeflow-client-python"


def service_config(retries: bool) -> dict[str, Any]:
    """The packaged service config, without its retry policies when `retries` is false."""
    text = resources.files(__package__).joinpath(SERVICE_CONFIG_RESOURCE).read_text("utf-8")
    config: dict[str, Any] = json.loads(text)
    if not retries:
        for method_config in config["methodConfig"]:
            method_config.pop("retryPolicy", None)
    return config


def check_timeout(timeout: float) -> float:
    """`timeout` if it is a usable deadline in seconds."""
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    return timeout


def channel_options(retries: bool) -> list[tuple[str, Any]]:
    """Channel options carrying the service config (and nothing resolved over DNS)."""
    return [
        ("grpc.service_config", json.dumps(service_config(retries))),
        ("grpc.service_config_disable_resolution", 1),
        ("grpc.enable_retries", 1 if retries else 0),
        ("grpc.primary_user_agent", USER_AGENT),
    ]


def credentials(tls: bool, root_certificates: bytes | None) -> grpc.ChannelCredentials | None:
    """TLS credentials (the system roots unless `root_certificates` is given), or None
    for a plaintext channel."""
    if not tls:
        if root_certificates is not None:
            raise ValueError("root_certificates is only used with tls=True")
        return None
    return grpc.ssl_channel_credentials(root_certificates)


def call_metadata(api_key: str) -> tuple[tuple[str, str], ...]:
    """The metadata sent on every call: `authorization: Bearer <api_key>` when given."""
    return (("authorization", f"Bearer {api_key}"),) if api_key else ()


class ClientBase:
    """What `BadgeflowClient` and `AsyncBadgeflowClient` share: the options, one channel
    opened by `_grpc` (the `grpc` module, or `grpc.aio`), its stubs and the call metadata.
    """

    _grpc: ClassVar[Any] = grpc

    def __init__(
        self,
        target: str,
        *,
        timeout: float = DEFAULT_RPC_TIMEOUT,
        api_key: str = "",
        tls: bool = False,
        root_certificates: bytes | None = None,
        retries: bool = True,
    ) -> None:
        self.target = target
        self.timeout = check_timeout(timeout)
        self._metadata = call_metadata(api_key)
        options = channel_options(retries)
        channel_credentials = credentials(tls, root_certificates)
        if channel_credentials is None:
            self._channel = self._grpc.insecure_channel(target, options)
        else:
            self._channel = self._grpc.secure_channel(target, channel_credentials, options)
        self._stubs = Stubs.over(self._channel)

    def __repr__(self) -> str:  # never the API key
        return f"{type(self).__name__}({self.target!r}, timeout={self.timeout})"

    def _unary_call(self, method: Any, request: Any) -> Any:
        """Start a unary call with the deadline and metadata (a response, or an awaitable)."""
        return method(request, timeout=self.timeout, metadata=self._metadata)

    def _open(self, stream: ServerStream[Any], timeout: float | None) -> Any:
        """Start a server stream: no deadline unless `timeout`."""
        return stream.method(self._stubs)(stream.request, timeout=timeout, metadata=self._metadata)
