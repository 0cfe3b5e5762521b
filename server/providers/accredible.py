"""Accredible Credential API client: the `BadgeProvider` port over HTTP.

Example::

    async with AccredibleClient(api_key, base_url=ACCREDIBLE_EU) as accredible:
        badge = await accredible.issue(request)

Groups are badgeflow templates; credentials are badges. Accredible has no revoke (revoke sets
`expired_on` to today), no accept step (an issued credential is ACCEPTED) and no event
feed. `base_url` is the v1 root; the v2 search lives beside it (`.../v1` -> `.../v2`).
badgeflow's earner key travels in the credential's `meta_data` under `EARNER_KEY_FIELD`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from server.providers.base import (
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

__all__ = [
    "ACCREDIBLE_EU",
    "ACCREDIBLE_PRODUCTION",
    "ACCREDIBLE_SANDBOX",
    "DEFAULT_PAGE_SIZE",
    "EARNER_KEY_FIELD",
    "AccredibleClient",
]

ACCREDIBLE_PRODUCTION = "https://api.accredible.com/v1"
ACCREDIBLE_SANDBOX = "https://sandbox.api.accredible.com/v1"
ACCREDIBLE_EU = "https://eu.api.accredible.com/v1"
DEFAULT_PAGE_SIZE = 50
EARNER_KEY_FIELD = "badgeflow_earner_key"

_DUPLICATE_MARKS = ("already been taken", "do not allow duplicates")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AccredibleClient(HttpProviderClient):
    """One Accredible API key (account-wide or one department). Holds one pooled
    `httpx.AsyncClient`; call `aclose()` (or use `async with`). `repr()` shows the host,
    never the key. `clock` exists for tests: it decides "today" for expiry."""

    kind = "accredible"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = ACCREDIBLE_PRODUCTION,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not api_key:
            raise ValueError("an Accredible API key is required")
        self.base_url = base_url.rstrip("/")
        self._v2 = _v2_root(self.base_url)
        self._clock = clock
        self._http = ProviderHttp(
            provider="accredible",
            base_url=self.base_url + "/",
            headers={"Authorization": f"Token token={api_key}"},
            secrets=(api_key,),
            is_duplicate=_is_duplicate,
            transport=transport,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"AccredibleClient(base_url={self.base_url!r})"

    async def organization_name(self) -> str:
        return await self._http.get("issuer/details", lambda body: str(body["issuer"]["name"]))

    async def templates(self) -> AsyncIterator[ProviderTemplate]:
        """Every group of the key (groups/search, page by page until `meta.next_page` is
        null), the image from the primary design (else the badge design)."""
        images: dict[str, str] = {}
        page = 1
        while True:
            groups, next_page = await self._http.call(
                "POST",
                "issuer/groups/search",
                _groups_page,
                json={"page": page, "page_size": DEFAULT_PAGE_SIZE},
                read=True,
            )
            for group in groups:
                yield _template(group, await self._image(group, images))
            if not groups or next_page is None or next_page <= page:
                return
            page = next_page

    async def issue(self, request: IssueRequest) -> ProviderBadge:
        return await self._http.call(
            "POST", "credentials", self._credential_data, json=_issue_body(request)
        )

    async def find(
        self, template_external_id: str, earner_key: str, email: str
    ) -> ProviderBadge | None:
        """v2 search by recipient email + group (Accredible's duplicate rule); the credential
        carrying this earner key wins, else the first. Without an email, by the earner key
        in `meta_data`."""
        query: dict[str, Any] = {"group.id": _group_id(template_external_id)}
        if email:
            query["recipient_email"] = email
        elif earner_key:
            query["meta_data"] = {EARNER_KEY_FIELD: earner_key}
        else:
            return None
        found, _ = await self._search(query, {"size": DEFAULT_PAGE_SIZE})
        if not found:
            return None
        return next((b for b in found if earner_key and b.earner_key == earner_key), found[0])

    async def get_badge(self, external_id: str) -> ProviderBadge | None:
        """The credential; a 404 is a credential that was deleted (state DELETED)."""
        try:
            return await self._http.get(self._path(external_id), self._credential_data)
        except ProviderNotFound:
            return ProviderBadge(
                external_id=external_id,
                template_external_id="",
                recipient_email="",
                state=ProviderBadgeState.DELETED,
            )

    async def revoke(self, external_id: str, reason: str) -> ProviderBadge:
        """Expire today: Accredible has no revoke and no place for `reason`."""
        return await self._update(external_id, {"expired_on": self._clock().date().isoformat()})

    async def update_expiry(self, external_id: str, expires_at: datetime | None) -> ProviderBadge:
        return await self._update(external_id, {"expired_on": _day(expires_at)})

    async def badges(self, updated_since: datetime | None) -> AsyncIterator[ProviderBadge]:
        """v2 search with `updated_at[gte]`, following the cursor until it runs out."""
        query: dict[str, Any] = {}
        if updated_since is not None:
            query["updated_at[gte]"] = (
                _aware(updated_since).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        page: dict[str, Any] = {"size": DEFAULT_PAGE_SIZE}
        seen: set[str] = set()
        while True:
            found, cursor = await self._search(query, page)
            for badge in found:
                yield badge
            if not found or not cursor or cursor in seen:
                return
            seen.add(cursor)
            page = {"cursor": cursor, "size": DEFAULT_PAGE_SIZE}

    async def fetch_event(self, event_id: str) -> ProviderEvent:
        raise ProviderRejected("accredible has no event feed (poll badges() instead)", 0)

    # -- helpers -------------------------------------------------------------------------

    def _path(self, external_id: str) -> str:
        return f"credentials/{segment(external_id)}"

    async def _update(self, external_id: str, fields: dict[str, Any]) -> ProviderBadge:
        return await self._http.call(
            "PUT", self._path(external_id), self._credential_data, json={"credential": fields}
        )

    async def _search(
        self, query: dict[str, Any], page: dict[str, Any]
    ) -> tuple[list[ProviderBadge], str | None]:
        def parse(body: Mapping[str, Any]) -> tuple[list[ProviderBadge], str | None]:
            meta = body.get("meta") or {}
            cursor = meta.get("cursor")
            return [self._credential(c) for c in body["credentials"]], cursor and str(cursor)

        body = {"query": query, "sort": {"id": "asc"}, "page": page}
        return await self._http.call(
            "POST", f"{self._v2}/credentials/search", parse, json=body, read=True
        )

    async def _image(self, group: Mapping[str, Any], images: dict[str, str]) -> str:
        design_id = group.get("primary_design_id") or group.get("badge_design_id")
        if not design_id:
            return ""
        key = str(design_id)
        if key not in images:
            try:
                images[key] = await self._http.get(
                    f"designs/{segment(key)}",
                    lambda body: str(body["design"].get("rasterized_content_url") or ""),
                )
            except ProviderNotFound:
                images[key] = ""
        return images[key]

    def _credential_data(self, body: Mapping[str, Any]) -> ProviderBadge:
        return self._credential(body["credential"])

    def _credential(self, raw: Mapping[str, Any]) -> ProviderBadge:
        """A v1 credential (nested recipient, group_id) or a flat v2 search item."""
        recipient = raw.get("recipient") if isinstance(raw.get("recipient"), Mapping) else {}
        group = raw.get("group") if isinstance(raw.get("group"), Mapping) else {}
        meta = raw.get("meta_data") if isinstance(raw.get("meta_data"), Mapping) else {}
        expires_at = parse_timestamp(raw.get("expired_on"))
        return ProviderBadge(
            external_id=str(raw["id"]),
            template_external_id=str(raw.get("group_id") or group.get("id") or ""),
            recipient_email=str(recipient.get("email") or raw.get("recipient_email") or ""),
            state=self._state(raw, expires_at),
            issued_at=parse_timestamp(raw.get("issued_on")),
            expires_at=expires_at,
            earner_key=str(meta.get(EARNER_KEY_FIELD) or ""),
            url=str(raw.get("url") or ""),
            updated_at=parse_timestamp(raw.get("updated_at")),
        )

    def _state(self, raw: Mapping[str, Any], expires_at: datetime | None) -> ProviderBadgeState:
        """Expired when `expired_on` is today or earlier; PENDING while unpublished
        (`approve: false`, e.g. out of credits); otherwise ACCEPTED."""
        if expires_at is not None and expires_at.astimezone(UTC).date() <= self._today():
            return ProviderBadgeState.EXPIRED
        if raw.get("approve") is False:
            return ProviderBadgeState.PENDING
        return ProviderBadgeState.ACCEPTED

    def _today(self) -> date:
        return self._clock().astimezone(UTC).date()


# -- wire format ---------------------------------------------------------------------------


def _v2_root(v1: str) -> str:
    return (v1[: -len("/v1")] if v1.endswith("/v1") else v1) + "/v2"


def _is_duplicate(status: int, message: str) -> bool:
    lowered = message.lower()
    return status == 422 and any(mark in lowered for mark in _DUPLICATE_MARKS)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day(value: datetime | None) -> str | None:
    """The documented YYYY-MM-DD, of the UTC day."""
    return _aware(value).astimezone(UTC).date().isoformat() if value else None


def _group_id(external_id: str) -> int | str:
    return int(external_id) if external_id.isdigit() else external_id


def _issue_body(request: IssueRequest) -> dict[str, Any]:
    recipient = request.recipient
    return {
        "credential": {
            "recipient": {
                "name": f"{recipient.first_name} {recipient.last_name}".strip(),
                "email": recipient.email,
                "id": recipient.learner_id,
            },
            "group_id": _group_id(request.template_external_id),
            "issued_on": _day(request.issued_at),
            "expired_on": _day(request.expires_at),
            "meta_data": {EARNER_KEY_FIELD: request.earner_key},
        }
    }


def _groups_page(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    next_page = (body.get("meta") or {}).get("next_page")
    return list(body["groups"]), int(next_page) if next_page is not None else None


def _template(group: Mapping[str, Any], image_url: str) -> ProviderTemplate:
    return ProviderTemplate(
        external_id=str(group["id"]),
        name=str(group.get("course_name") or group.get("name") or ""),
        description=str(group.get("course_description") or ""),
        image_url=image_url,
        state="active",  # an Accredible group exists or it does not
        url=str(group.get("course_link") or ""),
        allow_duplicates=bool(group.get("allow_duplicate_credentials", False)),
    )
