"""Bridge configuration: Open edX's topic naming, and settings it cannot use named."""

from __future__ import annotations

import pytest

from server.bridges.openedx.config import ConfigError, full_topic, parse_config


@pytest.mark.parametrize(
    ("prefix", "topic"),
    [
        pytest.param("abc", "abc-learning-badges-lifecycle", id="tutor-prefix"),
        pytest.param("dev", "dev-learning-badges-lifecycle", id="readme-prefix"),
        pytest.param("", "learning-badges-lifecycle", id="no-prefix"),
    ],
)
def test_the_topic_is_the_prefix_a_hyphen_and_the_topic(prefix: str, topic: str) -> None:
    assert full_topic(prefix) == topic


def test_settings_come_from_the_environment_under_open_edx_names() -> None:
    config = parse_config(
        [], {"OPENEDX_REDIS_URL": "redis://redis:6379/", "OPENEDX_TOPIC_PREFIX": "abc"}
    )
    assert (config.stream, config.dead_letter_stream, config.group, config.consumer) == (
        "abc-learning-badges-lifecycle",
        "abc-learning-badges-lifecycle.badgeflow.dead-letter",
        "badgeflow.learning-badges-lifecycle",
        "badgeflow.1",
    )


ONE_BUS = (
    "set exactly one bus: --redis-url (OPENEDX_REDIS_URL) or "
    "--kafka-bootstrap-servers (OPENEDX_KAFKA_BOOTSTRAP_SERVERS)"
)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            [],
            ONE_BUS,
            id="no-bus",
        ),
        pytest.param(
            ["--redis-url", "redis://r", "--kafka-bootstrap-servers", "k:9092"],
            ONE_BUS,
            id="two-buses",
        ),
        pytest.param(
            ["--redis-url", "http://:hunter2@redis:6379"],
            "OPENEDX_REDIS_URL must start with redis://, rediss:// or unix://, got scheme 'http'",
            id="bad-url-password-not-echoed",
        ),
        pytest.param(
            ["--redis-url", "redis://r", "--ca-file", "ca.pem"],
            "--ca-file (BADGEFLOW_CA_FILE) needs --tls (BADGEFLOW_TLS=1)",
            id="ca-without-tls",
        ),
        pytest.param(
            ["--redis-url", "redis://r", "--tls", "--ca-file", "/nonexistent/ca.pem"],
            "cannot read --ca-file /nonexistent/ca.pem: No such file or directory",
            id="ca-unreadable",
        ),
        pytest.param(
            ["--kafka-bootstrap-servers", "k:9092"],
            "Kafka needs --schema-registry-url (OPENEDX_KAFKA_SCHEMA_REGISTRY_URL)",
            id="no-registry",
        ),
        pytest.param(
            ["--redis-url", "redis://r", "--batch-size", "5000"],
            "--batch-size must be 1..1000, got 5000",
            id="batch",
        ),
    ],
)
def test_settings_the_bridge_cannot_use_are_named(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(argv, {})
    assert str(caught.value) == message


def test_the_api_key_comes_from_the_environment_and_is_never_shown() -> None:
    config = parse_config(["--redis-url", "redis://r"], {"BADGEFLOW_API_KEY": "bfk_secret"})
    assert (config.api_key, "bfk_secret" in repr(config)) == ("bfk_secret", False)
