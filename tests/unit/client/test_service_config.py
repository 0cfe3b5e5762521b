"""The packaged service config: retries for the idempotent unary RPCs only, never for
the others or the streams."""

from __future__ import annotations

import json

import pytest
from badgeflow_client.channel import (
    call_metadata,
    channel_options,
    check_timeout,
    credentials,
    service_config,
)
from google.protobuf import descriptor_pool

from server.app import SERVICE_NAMES

SERVICES = [descriptor_pool.Default().FindServiceByName(name) for name in SERVICE_NAMES]
RETRIED = {
    "EventService/PublishEvents",
    "RuleService/ValidateRules",
    "RuleService/PlanRules",
    "RuleService/GetRules",
    "TemplateService/ListTemplates",
    "TemplateService/GetTemplate",
    "TemplateService/ActivateTemplate",
    "TemplateService/DeactivateTemplate",
    "ProgressService/GetLearnerProgress",
    "ProgressService/ListTemplateProgress",
    "ProgressService/GetLearnerBadges",
    "ProgressService/ListLearnerAwards",
    "ProviderService/ListProviders",
    "ProviderService/DisconnectProvider",
    "ProviderService/ListIssuances",
    "ProviderService/ListProviderBadges",
}
NOT_RETRIED = {
    "RuleService/ApplyRules",
    "ProviderService/ConnectProvider",
    "ProviderService/SyncTemplates",
    "ProviderService/RetryIssuance",
    "AwardService/RevokeAward",
    "AwardService/GrantAward",
    "AwardService/ReissueAward",
}
STREAMS = {
    "EventService/StreamEvents",
    "RuleService/BackfillRules",
    "ProgressService/WatchAwards",
}


def _names(method_config: dict[str, object]) -> list[str]:
    names = method_config["name"]
    assert isinstance(names, list)
    return [f"{n['service'].removeprefix('badgeflow.v1.')}/{n['method']}" for n in names]


def _configured(config: dict[str, list[dict[str, object]]], retried: bool) -> list[str]:
    return [
        name
        for method_config in config["methodConfig"]
        if ("retryPolicy" in method_config) is retried
        for name in _names(method_config)
    ]


def test_every_rpc_is_classified() -> None:
    methods = {
        f"{service.name}/{method.name}": method
        for service in SERVICES
        for method in service.methods
    }
    assert set(methods) == RETRIED | NOT_RETRIED | STREAMS
    assert {
        name
        for name, method in methods.items()
        if method.client_streaming or method.server_streaming
    } == STREAMS


def test_idempotent_calls_are_retried_on_unavailable_only() -> None:
    config = service_config(retries=True)
    retried = _configured(config, retried=True)
    assert sorted(retried) == sorted(RETRIED)  # each once
    assert sorted(_configured(config, retried=False)) == sorted(NOT_RETRIED)
    [policy] = [c["retryPolicy"] for c in config["methodConfig"] if "retryPolicy" in c]
    assert policy == {
        "maxAttempts": 4,
        "initialBackoff": "0.1s",
        "maxBackoff": "2s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }


def test_retries_off_drops_the_policies() -> None:
    config = service_config(retries=False)
    assert _configured(config, retried=True) == []
    assert sorted(_configured(config, retried=False)) == sorted(RETRIED | NOT_RETRIED)


@pytest.mark.parametrize(
    ("retries", "enabled"),
    [pytest.param(True, 1, id="retries-on"), pytest.param(False, 0, id="retries-off")],
)
def test_channel_options_carry_the_config(retries: bool, enabled: int) -> None:
    options = dict(channel_options(retries))
    assert json.loads(options["grpc.service_config"]) == service_config(retries)
    assert (options["grpc.enable_retries"], options["grpc.service_config_disable_resolution"]) == (
        enabled,
        1,
    )


def test_a_timeout_must_be_positive() -> None:
    assert check_timeout(0.5) == 0.5
    with pytest.raises(ValueError) as raised:
        check_timeout(0)
    assert str(raised.value) == "timeout must be positive, not 0"


def test_api_key_metadata_and_credentials() -> None:
    assert call_metadata("") == ()
    assert call_metadata("k-123") == (("authorization", "Bearer k-123"),)
    assert credentials(tls=False, root_certificates=None) is None
    assert credentials(tls=True, root_certificates=None) is not None
    with pytest.raises(ValueError):
        credentials(tls=False, root_certificates=b"pem")
