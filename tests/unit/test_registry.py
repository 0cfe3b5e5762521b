from __future__ import annotations

from datetime import UTC, datetime

from cryptography.fernet import Fernet

from server.domain import ConnectionRecord
from server.providers.base import BadgeProvider
from server.providers.registry import ProviderRegistry
from server.secrets import SecretBox
from tests.service.fake_provider import FakeProvider

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BOX = SecretBox(Fernet.generate_key())


def _connection(cid: str, active: bool = True) -> ConnectionRecord:
    kind, org = cid.split(":")
    return ConnectionRecord(
        cid, kind, org, org, "http://127.0.0.1:1", BOX.seal(f"token-{org}"), active, NOW, NOW
    )


def _registry() -> tuple[ProviderRegistry, dict[str, str]]:
    opened: dict[str, str] = {}

    def factory(record: ConnectionRecord, token: str) -> BadgeProvider:
        opened[record.id] = token
        return FakeProvider(kind=record.kind)  # type: ignore[return-value]

    return ProviderRegistry(factory, BOX), opened


def test_synced_templates_go_to_their_connection_others_to_the_only_one() -> None:
    registry, opened = _registry()
    registry.load(
        [
            _connection("credly:a"),
            _connection("credly:b"),
            _connection("accredible:x"),
            _connection("accredible:y", active=False),
        ],
        {"credly:t-1": "credly:b"},
    )
    assert opened == {"credly:a": "token-a", "credly:b": "token-b", "accredible:x": "token-x"}
    assert registry.for_template("credly:t-1")[0] == "credly:b"  # type: ignore[index]
    assert registry.for_template("credly:unsynced") is None  # two Credly organisations: ambiguous
    assert registry.for_template("accredible:9")[0] == "accredible:x"  # type: ignore[index]


def test_a_disconnected_connection_serves_nothing() -> None:
    registry, _ = _registry()
    old = registry.load([_connection("credly:a")], {"credly:t-1": "credly:a"})
    assert old == []
    previous = registry.load([_connection("credly:a", active=False)], {"credly:t-1": "credly:a"})
    assert len(previous) == 1
    assert registry.for_template("credly:t-1") is None
