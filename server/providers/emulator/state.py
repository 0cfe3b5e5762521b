"""The emulator's whole in-memory state: both providers plus the webhook sender, with the
admin and inspection helpers tests use (Python API, not HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .accredible_store import AccredibleStore
from .credly_store import CredlyEvent, CredlyStore
from .webhooks import WebhookSender


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EmulatorState:
    """Example:

        state = EmulatorState()
        org = state.credly.add_organization("Acme", token="secret")
        template = state.credly.add_template(org.id, "Python 101")
        state.set_webhook(org.id, "http://127.0.0.1:9000/hooks/credly")
        ...
        state.credly.set_badge_state(org.id, badge_id, "accepted")  # earner accepts
        state.credly.update_template(org.id, template.id, state="archived")
        assert [b["state"] for b in state.credly_badges(org.id)] == ["accepted"]

    `clock` may be replaced (any callable returning an aware datetime) to control time."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self.clock = clock
        self.credly = CredlyStore(self._now)
        self.accredible = AccredibleStore(self._now)
        self.webhooks = WebhookSender(self._webhook_url)
        self.credly.listeners.append(self.webhooks.notify)

    def _now(self) -> datetime:
        return self.clock()

    def _webhook_url(self, org_id: str) -> str | None:
        org = self.credly.organizations.get(org_id)
        return org.webhook_url if org else None

    def set_webhook(self, org_id: str, url: str | None) -> None:
        """Where this organisation's events are POSTed (None: nowhere)."""
        self.credly.organization(org_id).webhook_url = url

    def resend_webhook(self, org_id: str, event_id: str) -> None:
        """Deliver one recorded event again (Credly retries; at-least-once delivery)."""
        self.webhooks.resend(self.credly.event(org_id, event_id))

    def credly_badges(self, org_id: str) -> list[dict[str, Any]]:
        """Every badge the organisation holds (deleted ones are gone), as the API shows them."""
        org = self.credly.organization(org_id)
        return [self.credly.badge_as_api(org, b) for b in org.badges.values()]

    def credly_events(self, org_id: str) -> list[CredlyEvent]:
        return list(self.credly.organization(org_id).events)

    def accredible_credentials(self, key: str) -> list[dict[str, Any]]:
        """Every credential of the configuration with this API key, as the v1 API shows them."""
        config = self.accredible.configurations[key]
        return [self.accredible.credential_as_api(config, c) for c in config.credentials.values()]
