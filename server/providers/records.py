"""From what a provider answered to what badgeflow stores about it."""

from __future__ import annotations

from server.domain import ProviderBadgeRecord
from server.providers.base import ProviderBadge

__all__ = ["provider_badge_record"]


def provider_badge_record(
    provider: str, badge: ProviderBadge, award_id: int | None
) -> ProviderBadgeRecord:
    return ProviderBadgeRecord(
        provider=provider,
        external_id=badge.external_id,
        template_external_id=badge.template_external_id,
        state=badge.state.value,
        recipient_email=badge.recipient_email,
        award_id=award_id,
        issued_at=badge.issued_at,
        expires_at=badge.expires_at,
        replaced_by=badge.replaced_by,
        url=badge.url,
        accept_url=badge.accept_url,
        updated_at=badge.updated_at,
    )
