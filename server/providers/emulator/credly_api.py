"""Credly's HTTP surface (`/v1/organizations/...`) over `CredlyStore`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from .credly_store import CredlyBadge, CredlyOrganization, CredlyStore, CredlyTemplate
from .listing import credly_error, credly_page, parse_filter, sort_items, split_values
from .timefmt import parse_timestamp
from .wire import Request, Response

_REQUIRED = (
    "recipient_email",
    "issued_to_first_name",
    "issued_to_last_name",
    "badge_template_id",
    "issued_at",
)
_OPTIONAL_TEXT = (
    "issued_to_middle_name",
    "issuer_earner_id",
    "locale",
    "country_name",
    "state_or_province",
    "duplicate_behavior",
)
_TEMPLATE_FILTERS = (
    "state", "name", "query", "public", "created_at_min", "created_at_max",
    "updated_at_min", "updated_at_max",
)  # fmt: skip
_BADGE_FILTERS = (
    "state", "recipient_email", "recipient_email_all", "badge_template_id",
    "issuer_earner_id", "query", "public", "updated_at_min", "updated_at_max",
)  # fmt: skip


def _ok(data: Any, status: int = 200) -> Response:
    return Response(status, {"data": data, "metadata": {}})


class CredlyApi:
    def __init__(self, store: CredlyStore) -> None:
        self.store = store

    async def handle(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["v1", "organizations"]:
            raise credly_error(404, "Not found")
        token = _basic_username(request.headers.get("authorization", ""))
        if len(parts) == 2:
            orgs = self.store.authorize(token, None)
            return Response(200, credly_page(request, [o.as_api() for o in orgs]))
        (org,) = self.store.authorize(token, parts[2])
        route = self._route(request.method, parts[3:])
        return route(request, org, parts[4:])

    def _route(self, method: str, rest: list[str]) -> Callable[..., Response]:
        shape = (method, rest[0] if rest else "", len(rest), rest[2] if len(rest) > 2 else "")
        routes: dict[tuple[str, str, int, str], Callable[..., Response]] = {
            ("GET", "", 0, ""): lambda r, org, a: _ok(org.as_api()),
            ("PUT", "", 0, ""): self._update_org,
            ("GET", "badge_templates", 1, ""): self._list_templates,
            ("GET", "badge_templates", 2, ""): self._get_template,
            ("GET", "badges", 1, ""): self._list_badges,
            ("POST", "badges", 1, ""): self._issue,
            ("GET", "badges", 2, ""): self._get_badge,
            ("DELETE", "badges", 2, ""): self._delete_badge,
            ("PUT", "badges", 3, "revoke"): self._revoke,
            ("POST", "badges", 3, "replace"): self._replace,
            ("GET", "events", 1, ""): self._list_events,
            ("GET", "events", 2, ""): self._get_event,
        }
        try:
            return routes[shape]
        except KeyError:
            raise credly_error(404, "Not found") from None

    # ---- organisation ----------------------------------------------------------------

    def _update_org(self, request: Request, org: CredlyOrganization, _: list[str]) -> Response:
        body = request.json()
        if "webhook_url" in body:
            org.webhook_url = body["webhook_url"] or None
        return _ok(org.as_api())

    # ---- templates -------------------------------------------------------------------

    def _list_templates(self, request: Request, org: CredlyOrganization, _: list[str]) -> Response:
        filters = parse_filter(request.query.get("filter", ""), _TEMPLATE_FILTERS)
        items = [t for t in org.templates.values() if _template_matches(t, filters)]
        items = sort_items(
            items,
            request.query.get("sort", ""),
            {
                "name": lambda t: t.name.lower(),
                "created_at": lambda t: t.created_at,
                "updated_at": lambda t: t.updated_at,
                "state": lambda t: t.state,
            },
            default="created_at",
        )
        page = [self.store.template_as_api(org, t) for t in items]
        return Response(200, credly_page(request, page))

    def _get_template(self, request: Request, org: CredlyOrganization, args: list[str]) -> Response:
        return _ok(self.store.template_as_api(org, self.store.template(org.id, args[0])))

    # ---- badges ----------------------------------------------------------------------

    def _list_badges(self, request: Request, org: CredlyOrganization, _: list[str]) -> Response:
        filters = parse_filter(request.query.get("filter", ""), _BADGE_FILTERS)
        items = [b for b in org.badges.values() if _badge_matches(b, filters)]
        items = sort_items(
            items,
            request.query.get("sort", ""),
            {
                "issued_at": lambda b: b.issued_at,
                "created_at": lambda b: b.created_at,
                "updated_at": lambda b: b.updated_at,
                "state_updated_at": lambda b: b.state_updated_at,
            },
            default="created_at",
        )
        page = [self.store.badge_as_api(org, b) for b in items]
        return Response(200, credly_page(request, page))

    def _get_badge(self, request: Request, org: CredlyOrganization, args: list[str]) -> Response:
        return _ok(self.store.badge_as_api(org, self.store.badge(org.id, args[0])))

    def _issue(self, request: Request, org: CredlyOrganization, _: list[str]) -> Response:
        fields = _badge_fields(request.json(), _REQUIRED)
        badge = self.store.issue(org.id, fields)
        return _ok(self.store.badge_as_api(org, badge), status=201)

    def _replace(self, request: Request, org: CredlyOrganization, args: list[str]) -> Response:
        fields = _badge_fields(request.json(), ("badge_template_id", "issued_at"))
        badge = self.store.replace(org.id, args[0], fields)
        return _ok(self.store.badge_as_api(org, badge), status=201)

    def _revoke(self, request: Request, org: CredlyOrganization, args: list[str]) -> Response:
        reason = request.json().get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise credly_error(422, "Validation failed: Reason can't be blank")
        badge = self.store.revoke(org.id, args[0], reason)
        return _ok(self.store.badge_as_api(org, badge))

    def _delete_badge(self, request: Request, org: CredlyOrganization, args: list[str]) -> Response:
        self.store.delete(org.id, args[0])
        return Response(204)

    # ---- events ----------------------------------------------------------------------

    def _list_events(self, request: Request, org: CredlyOrganization, _: list[str]) -> Response:
        filters = parse_filter(request.query.get("filter", ""), ("event_type",))
        wanted = split_values(filters.get("event_type", ""))
        items = [e for e in org.events if not wanted or e.event_type in wanted]
        items = sort_items(
            items, request.query.get("sort", ""), {"occurred_at": lambda e: e.occurred_at}, ""
        )
        return Response(200, credly_page(request, [e.as_api() for e in items]))

    def _get_event(self, request: Request, org: CredlyOrganization, args: list[str]) -> Response:
        return _ok(self.store.event(org.id, args[0]).as_api())


def _basic_username(header: str) -> str | None:
    """The token from `Basic base64("<token>:")` (a missing colon is tolerated)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _badge_fields(body: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """Validate an issue/replace body; only the keys sent (plus required) come back."""
    missing = [k for k in required if not isinstance(body.get(k), str) or not body[k].strip()]
    if missing:
        raise credly_error(422, f"Validation failed: {', '.join(missing)} can't be blank")
    fields: dict[str, Any] = {k: body[k] for k in required}
    for key in (*_REQUIRED, *_OPTIONAL_TEXT):
        if key in body and key not in required:
            if body[key] is not None and not isinstance(body[key], str):
                raise credly_error(422, f"Validation failed: {key} is invalid")
            fields[key] = body[key]
    if fields.get("duplicate_behavior") not in (None, "allow", "deny"):
        raise credly_error(422, "Validation failed: duplicate_behavior is invalid")
    fields["issued_at"] = parse_timestamp(body["issued_at"], "issued_at")
    if "expires_at" in body:
        value = body["expires_at"]
        fields["expires_at"] = (
            value if value in (None, False) else parse_timestamp(value, "expires_at")
        )
    if "evidence" in body:
        if not isinstance(body["evidence"], list):
            raise credly_error(422, "Validation failed: Evidence is invalid")
        fields["evidence"] = body["evidence"]
    return fields


def _template_matches(t: CredlyTemplate, filters: dict[str, str]) -> bool:
    checks = {
        "state": lambda v: t.state in split_values(v),
        "name": lambda v: t.name == v[1:-1] if v.startswith('"') else v.lower() in t.name.lower(),
        "query": lambda v: v.lower() in f"{t.name} {t.description}".lower(),
        "public": lambda v: v == "true",
        "created_at_min": lambda v: t.created_at.date().isoformat() >= v,
        "created_at_max": lambda v: t.created_at.date().isoformat() <= v,
        "updated_at_min": lambda v: t.updated_at.date().isoformat() >= v,
        "updated_at_max": lambda v: t.updated_at.date().isoformat() <= v,
    }
    return all(checks[key](value) for key, value in filters.items())


def _badge_matches(b: CredlyBadge, filters: dict[str, str]) -> bool:
    emails = lambda v: b.recipient_email.lower() in {e.lower() for e in split_values(v)}  # noqa: E731
    checks = {
        "state": lambda v: b.state in split_values(v),
        "recipient_email": emails,
        "recipient_email_all": emails,
        "badge_template_id": lambda v: b.template_id in split_values(v),
        "issuer_earner_id": lambda v: b.issuer_earner_id == v,
        "query": lambda v: v.lower() in f"{b.recipient_email} {b.first_name} {b.last_name}".lower(),
        "public": lambda v: v == "false",
        "updated_at_min": lambda v: b.updated_at.date().isoformat() >= v,
        "updated_at_max": lambda v: b.updated_at.date().isoformat() <= v,
    }
    return all(checks[key](value) for key, value in filters.items())
