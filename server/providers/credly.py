"""Credly (ex-Acclaim) Web Service API v1 client: the `BadgeProvider` port over HTTP.

Example::

    async with CredlyClient(org_id, token, base_url=CREDLY_SANDBOX) as credly:
        badge = await credly.issue(request)

Every call is scoped to one organisation (`/organizations/{id}/...`) and authenticated with
HTTP Basic, the organisation's authorization token as the user name and an empty password.
Failures are raised as `server.providers.errors` kinds (see `server.providers.http`).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from server.providers.base import (
    EvidenceSpec,
    IssueRequest,
    ProviderBadge,
    ProviderBadgeState,
    ProviderEvent,
    ProviderTemplate,
)
from server.providers.errors import ProviderNotFound, ProviderRejected
from server.providers.http import (
    DEFAULT_TIMEOUT,
    HttpProviderClient,
    ProviderHttp,
    parse_timestamp,
    segment,
)

__all__ = ["CREDLY_PRODUCTION", "CREDLY_SANDBOX", "CredlyClient"]

CREDLY_PRODUCTION = "https://api.credly.com/v1"
CREDLY_SANDBOX = "https://sandbox-api.credly.com/v1"

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # the documented request format: 2014-04-01 09:41:00 -0500
_DUPLICATE_MARK = "already has this badge"
_MAX_REPLACEMENT_HOPS = 20
_STATES = {
    "pending": ProviderBadgeState.PENDING,
    "accepted": ProviderBadgeState.ACCEPTED,
    "rejected": ProviderBadgeState.REJECTED,
    "revoked": ProviderBadgeState.REVOKED,
    # Not a confirmed Credly state; a replaced badge is recognised by replacement_badge_id.
    "replaced": ProviderBadgeState.ACCEPTED,
    "deleted": ProviderBadgeState.DELETED,
}

log = logging.getLogger(__name__)


class CredlyClient(HttpProviderClient):
    """One Credly organisation. Holds one pooled `httpx.AsyncClient`; call `aclose()` (or use
    `async with`) when done. `repr()` shows the organisation and host, never the token."""

    kind = "credly"

    def __init__(
        self,
        organization_id: str,
        token: str,
        *,
        base_url: str = CREDLY_PRODUCTION,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if not organization_id:
            raise ValueError("a Credly organization id is required")
        if not token:
            raise ValueError("a Credly authorization token is required")
        self.organization_id = organization_id
        self.base_url = base_url.rstrip("/")
        basic = base64.b64encode(f"{token}:".encode()).decode("ascii")
        self._http = ProviderHttp(
            provider="credly",
            base_url=self.base_url + "/",
            headers={"Authorization": f"Basic {basic}"},
            secrets=(token, basic),
            is_duplicate=_is_duplicate,
            transport=transport,
            timeout=timeout,
        )
        self._org = f"organizations/{segment(organization_id)}"

    def __repr__(self) -> str:
        return f"CredlyClient(organization_id={self.organization_id!r}, base_url={self.base_url!r})"

    async def organization_name(self) -> str:
        return await self._http.get(self._org, lambda body: str(body["data"]["name"]))

    async def templates(self) -> AsyncIterator[ProviderTemplate]:
        async for item in self._pages("badge_templates", filter="state::active", sort="name"):
            yield _template(item)

    async def issue(self, request: IssueRequest) -> ProviderBadge:
        body = _issue_body(request)
        return await self._http.call("POST", f"{self._org}/badges", _badge_data, json=body)

    async def find(
        self, template_external_id: str, earner_key: str, email: str
    ) -> ProviderBadge | None:
        """By `issuer_earner_id` + template first; failing that by recipient email + template
        (Credly's duplicate rule also matches on email). The newest badge not replaced wins."""
        if earner_key:
            _check_filter_value(earner_key)
            found = await self._search(
                f"issuer_earner_id::{earner_key}|badge_template_id::{template_external_id}",
                lambda b: b.earner_key == earner_key,
            )
            if found:
                return _current(found)
        if email:
            _check_filter_value(email)
            found = await self._search(
                f"recipient_email::{email}|badge_template_id::{template_external_id}",
                lambda b: b.recipient_email.lower() == email.lower(),
            )
            if found:
                return _current(found)
        return None

    async def get_badge(self, external_id: str) -> ProviderBadge | None:
        """GET badges/{id} (one source only documents it): None on 404."""
        try:
            return await self._http.get(self._badge_path(external_id), _badge_data)
        except ProviderNotFound:
            return None

    async def revoke(self, external_id: str, reason: str) -> ProviderBadge:
        path = f"{self._badge_path(external_id)}/revoke"
        badge = await self._http.call("PUT", path, _badge_data_or_none, json={"reason": reason})
        return badge or await self._revoked_without_body(external_id)

    async def update_expiry(self, external_id: str, expires_at: datetime | None) -> ProviderBadge:
        """Replace the newest badge of the replacement chain starting at `external_id` with
        one that expires at `expires_at` (None: the template's default). Returns the new
        badge (a new id). Everything else the badge carries is sent again, since Credly
        clears what a replace leaves out."""
        current = await self._newest_in_chain(external_id)
        path = f"{self._badge_path(str(current['id']))}/replace"
        return await self._http.call(
            "POST", path, _badge_data, json=_replace_body(current, expires_at)
        )

    async def badges(self, updated_since: datetime | None) -> AsyncIterator[ProviderBadge]:
        """Every issued badge, all pages. The badges list has no documented updated-since
        filter, so `updated_since` is applied here (badges without `updated_at` are kept)."""
        async for item in self._pages("badges"):
            badge = _badge(item)
            if (
                updated_since is None
                or badge.updated_at is None
                or badge.updated_at >= _aware(updated_since)
            ):
                yield badge

    async def fetch_event(self, event_id: str) -> ProviderEvent:
        path = f"{self._org}/events/{segment(event_id)}"
        return await self._http.get(path, lambda body: self._event(body["data"]))

    # -- helpers -------------------------------------------------------------------------

    def _badge_path(self, external_id: str) -> str:
        return f"{self._org}/badges/{segment(external_id)}"

    async def _pages(self, resource: str, **params: str) -> AsyncIterator[dict[str, Any]]:
        """Step `page` from 1 to `metadata.total_pages`, keeping our own filter and sort
        (rather than following `next_page_url`, which some deployments rewrite)."""
        page = 1
        while True:
            items, total_pages = await self._http.get(
                f"{self._org}/{resource}", _page, **params, page=str(page)
            )
            for item in items:
                yield item
            if page >= total_pages or not items:
                return
            page += 1

    async def _search(
        self, filter_: str, keep: Callable[[ProviderBadge], bool]
    ) -> list[ProviderBadge]:
        items = await self._http.get(
            f"{self._org}/badges",
            lambda body: [_badge(item) for item in body["data"]],
            filter=filter_,
            sort="-issued_at",
        )
        return [badge for badge in items if keep(badge)]

    async def _newest_in_chain(self, external_id: str) -> dict[str, Any]:
        path = self._badge_path(external_id)
        for _ in range(_MAX_REPLACEMENT_HOPS):
            raw = await self._http.get(path, lambda body: dict(body["data"]))
            if not raw.get("replacement_badge_id"):
                return raw
            path = self._badge_path(str(raw["replacement_badge_id"]))
        raise ProviderRejected(
            f"credly badge {external_id}: replacement chain longer than {_MAX_REPLACEMENT_HOPS}", 0
        )

    async def _revoked_without_body(self, external_id: str) -> ProviderBadge:
        badge = await self.get_badge(external_id)
        if badge is not None:
            return badge
        return ProviderBadge(
            external_id=external_id,
            template_external_id="",
            recipient_email="",
            state=ProviderBadgeState.REVOKED,
        )

    def _event(self, data: Mapping[str, Any]) -> ProviderEvent:
        event_type = str(data.get("event_type") or "")
        badge = _badge(data["badge"]) if isinstance(data.get("badge"), Mapping) else None
        if badge is not None and event_type == "badge.deleted":
            badge = replace(badge, state=ProviderBadgeState.DELETED)
        template = data.get("badge_template")
        return ProviderEvent(
            id=str(data["id"]),
            type=event_type,
            organization_id=str(data.get("organization_id") or self.organization_id),
            badge=badge,
            template=_template(template) if isinstance(template, Mapping) else None,
        )


# -- wire format ---------------------------------------------------------------------------


def _is_duplicate(status: int, message: str) -> bool:
    return status == 422 and _DUPLICATE_MARK in message.lower()


def _check_filter_value(value: str) -> None:
    # `|` separates filter keys and `,` means "any of": such a value would widen the search.
    if "|" in value or "," in value:
        raise ProviderRejected(f"credly filter value {value!r} contains '|' or ','", 0)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _credly_time(value: datetime) -> str:
    return _aware(value).strftime(_TIME_FORMAT)


def _issue_body(request: IssueRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "badge_template_id": request.template_external_id,
        "recipient_email": request.recipient.email,
        "issued_to_first_name": request.recipient.first_name,
        "issued_to_last_name": request.recipient.last_name,
        "issued_at": _credly_time(request.issued_at),
        # null: the template's default expiry
        "expires_at": _credly_time(request.expires_at) if request.expires_at else None,
        "issuer_earner_id": request.earner_key,
    }
    if request.evidence:
        body["evidence"] = [_evidence(item) for item in request.evidence]
    return body


def _evidence(item: EvidenceSpec) -> dict[str, str]:
    """url -> UrlEvidence{name, value}; id and text -> IdEvidence{title, description}
    (TextEvidence is not a confirmed Credly type, IdEvidence is a titled text)."""
    if item.kind == "url":
        return {"type": "UrlEvidence", "name": item.name, "value": item.value}
    if item.kind in ("id", "text"):
        return {"type": "IdEvidence", "title": item.name, "description": item.value}
    raise ProviderRejected(f"credly: unsupported evidence kind {item.kind!r}", 0)


def _replace_body(current: Mapping[str, Any], expires_at: datetime | None) -> dict[str, Any]:
    issued_at = parse_timestamp(current.get("issued_at"))
    body: dict[str, Any] = {
        "badge_template_id": _template_id(current),
        "issued_at": _credly_time(issued_at) if issued_at else current.get("issued_at"),
    }
    for key in ("issued_to_first_name", "issued_to_last_name", "issuer_earner_id"):
        if current.get(key):
            body[key] = current[key]
    body["expires_at"] = _credly_time(expires_at) if expires_at else None
    evidence = [_evidence_again(e) for e in current.get("evidence") or () if isinstance(e, Mapping)]
    if evidence:
        body["evidence"] = evidence
    return body


def _evidence_again(item: Mapping[str, Any]) -> dict[str, Any]:
    """A response evidence item as a request item (responses add an `id`; IdEvidence comes
    back with `name` where the request had `title`)."""
    if item.get("type") == "UrlEvidence":
        keep = ("type", "name", "value", "description")
        return {k: item[k] for k in keep if item.get(k) is not None}
    return {
        "type": item.get("type") or "IdEvidence",
        "title": item.get("title") or item.get("name") or "",
        "description": item.get("description") or "",
    }


def _page(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int]:
    metadata = body.get("metadata") or {}
    return list(body["data"]), int(metadata.get("total_pages") or 1)


def _template_id(raw: Mapping[str, Any]) -> str:
    template = raw.get("badge_template")
    if isinstance(template, Mapping) and template.get("id"):
        return str(template["id"])
    return str(raw.get("badge_template_id") or "")


def _state(raw: Any) -> ProviderBadgeState:
    state = _STATES.get(str(raw or "").lower())
    if state is None:
        log.warning("unknown credly badge state", extra={"state": str(raw)})
        return ProviderBadgeState.PENDING
    return state


def _badge(raw: Mapping[str, Any]) -> ProviderBadge:
    user = raw.get("user") if isinstance(raw.get("user"), Mapping) else {}
    return ProviderBadge(
        external_id=str(raw["id"]),
        template_external_id=_template_id(raw),
        recipient_email=str(raw.get("recipient_email") or user.get("email") or ""),
        state=_state(raw.get("state")),
        issued_at=parse_timestamp(raw.get("issued_at")),
        expires_at=parse_timestamp(raw.get("expires_at")),
        earner_key=str(raw.get("issuer_earner_id") or ""),
        replaced_by=str(raw.get("replacement_badge_id") or ""),
        url=str(raw.get("badge_url") or ""),
        accept_url=str(raw.get("accept_badge_url") or ""),
        updated_at=parse_timestamp(raw.get("updated_at") or raw.get("state_updated_at")),
    )


def _badge_data(body: Mapping[str, Any]) -> ProviderBadge:
    return _badge(body["data"])


def _badge_data_or_none(body: Mapping[str, Any] | None) -> ProviderBadge | None:
    return _badge(body["data"]) if body else None


def _current(badges: list[ProviderBadge]) -> ProviderBadge:
    """The badge that now stands for the award: not replaced, newest first (as sorted)."""
    return next((b for b in badges if not b.replaced_by), badges[0])


def _template(raw: Mapping[str, Any]) -> ProviderTemplate:
    image = raw.get("image") if isinstance(raw.get("image"), Mapping) else {}
    return ProviderTemplate(
        external_id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        description=str(raw.get("description") or ""),
        image_url=str(raw.get("image_url") or image.get("url") or ""),
        state=str(raw.get("state") or ""),
        url=str(raw.get("url") or ""),
        allow_duplicates=bool(raw.get("allow_duplicate_badges", False)),
    )
