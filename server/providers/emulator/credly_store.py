"""Credly's in-memory world: organisations, badge templates, issued badges and the event
feed, with the badge and template state machines. Operations raise `ApiError` with
Credly's error envelope; every change appends an event and tells the listeners."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .listing import credly_error
from .timefmt import day, iso

WEB_HOST = "https://www.credly.emulator.test"
TEMPLATE_STATES = ("active", "draft", "archived")
BADGE_STATES = ("pending", "accepted", "rejected", "revoked")
DUPLICATE_MESSAGE = "User already has this badge"
ALREADY_REPLACED_MESSAGE = (
    "Validation failed: This badge cannot be replaced because it has already been replaced."
)

Clock = Callable[[], datetime]


@dataclass(slots=True)
class CredlyTemplate:
    id: str
    organization_id: str
    name: str
    description: str
    state: str
    allow_duplicate_badges: bool
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    skills: list[str] = field(default_factory=list)
    default_expiry_days: int | None = None  # Credly's field name is unknown; not serialised


@dataclass(slots=True)
class CredlyBadge:
    id: str
    template_id: str
    recipient_email: str
    first_name: str
    last_name: str
    middle_name: str | None
    issuer_earner_id: str | None
    issued_at: datetime
    expires_at: datetime | None
    state: str
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    evidence: list[dict[str, Any]] = field(default_factory=list)
    locale: str = "en"
    revocation_reason: str | None = None
    replacement_badge_id: str | None = None
    replaces_badge_id: str | None = None


@dataclass(frozen=True, slots=True)
class CredlyEvent:
    id: str
    event_type: str
    organization_id: str
    occurred_at: datetime
    details: dict[str, Any]  # {"badge": {...}} or {"badge_template": {...}}, as at the event

    def notification(self) -> dict[str, Any]:
        """The thin webhook body."""
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "event_type": self.event_type,
            "occurred_at": iso(self.occurred_at),
        }

    def as_api(self) -> dict[str, Any]:
        return {**self.notification(), **self.details}


@dataclass(slots=True)
class CredlyOrganization:
    id: str
    name: str
    token: str
    created_at: datetime
    webhook_url: str | None = None
    templates: dict[str, CredlyTemplate] = field(default_factory=dict)
    badges: dict[str, CredlyBadge] = field(default_factory=dict)
    events: list[CredlyEvent] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "webhook_url": self.webhook_url,
            "allowed_webhooks": [],
            "vanity_slug": self.name.lower().replace(" ", "-"),
            "verified": True,
            "created_at": iso(self.created_at),
        }


class CredlyStore:
    """All Credly organisations. Admin helpers (seed, archive, accept...) sit next to the
    API operations so both go through the same state machine and emit the same events."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.organizations: dict[str, CredlyOrganization] = {}
        self.listeners: list[Callable[[CredlyEvent], None]] = []

    # ---- auth and lookup -------------------------------------------------------------

    def authorize(self, token: str | None, org_id: str | None) -> list[CredlyOrganization]:
        """The organisations `token` sees (401 if none); with `org_id`, just that one
        (404 unknown, 401 when the token is another organisation's)."""
        visible = [o for o in self.organizations.values() if token and o.token == token]
        if not visible:
            raise credly_error(401, "Unauthorized")
        if org_id is None:
            return visible
        org = self.organizations.get(org_id)
        if org is None:
            raise credly_error(404, "Organization not found")
        if org not in visible:
            raise credly_error(401, "Unauthorized")
        return [org]

    def organization(self, org_id: str) -> CredlyOrganization:
        try:
            return self.organizations[org_id]
        except KeyError:
            raise credly_error(404, "Organization not found") from None

    def template(self, org_id: str, template_id: str) -> CredlyTemplate:
        template = self.organization(org_id).templates.get(template_id)
        if template is None:
            raise credly_error(404, "Badge template not found")
        return template

    def badge(self, org_id: str, badge_id: str) -> CredlyBadge:
        badge = self.organization(org_id).badges.get(badge_id)
        if badge is None:
            raise credly_error(404, "Badge not found")
        return badge

    def event(self, org_id: str, event_id: str) -> CredlyEvent:
        for event in self.organization(org_id).events:
            if event.id == event_id:
                return event
        raise credly_error(404, "Event not found")

    # ---- admin helpers ---------------------------------------------------------------

    def add_organization(
        self, name: str, *, org_id: str | None = None, token: str | None = None
    ) -> CredlyOrganization:
        org = CredlyOrganization(
            id=org_id or str(uuid.uuid4()),
            name=name,
            token=token or uuid.uuid4().hex,
            created_at=self._clock(),
        )
        self.organizations[org.id] = org
        return org

    def add_template(
        self,
        org_id: str,
        name: str,
        *,
        state: str = "active",
        allow_duplicates: bool = False,
        description: str = "",
        template_id: str | None = None,
        default_expiry_days: int | None = None,
    ) -> CredlyTemplate:
        """Create a template (as if authored in the Credly UI): emits badge_template.created."""
        _check_choice(state, TEMPLATE_STATES)
        org = self.organization(org_id)
        now = self._clock()
        template = CredlyTemplate(
            id=template_id or str(uuid.uuid4()),
            organization_id=org.id,
            name=name,
            description=description or f"{name} description",
            state=state,
            allow_duplicate_badges=allow_duplicates,
            created_at=now,
            updated_at=now,
            state_updated_at=now,
            default_expiry_days=default_expiry_days,
        )
        org.templates[template.id] = template
        self._emit_template(org, "badge_template.created", template)
        return template

    def update_template(self, org_id: str, template_id: str, **changes: Any) -> CredlyTemplate:
        """Edit a template (`state="archived"` archives it): emits badge_template.changed."""
        template = self.template(org_id, template_id)
        if "state" in changes:
            _check_choice(changes["state"], TEMPLATE_STATES)
            if changes["state"] != template.state:
                template.state_updated_at = self._clock()
        for key, value in changes.items():
            if not hasattr(template, key) or key in ("id", "organization_id"):
                raise ValueError(f"unknown template field {key!r}")
            setattr(template, key, value)
        template.updated_at = self._clock()
        self._emit_template(self.organization(org_id), "badge_template.changed", template)
        return template

    def delete_template(self, org_id: str, template_id: str) -> None:
        org = self.organization(org_id)
        template = self.template(org_id, template_id)
        del org.templates[template_id]
        self._emit_template(org, "badge_template.deleted", template)

    def set_badge_state(self, org_id: str, badge_id: str, state: str) -> CredlyBadge:
        """The earner accepts or rejects (or any state move): emits badge.state.changed."""
        _check_choice(state, BADGE_STATES)
        badge = self.badge(org_id, badge_id)
        self._move(self.organization(org_id), badge, state)
        return badge

    # ---- API operations --------------------------------------------------------------

    def issue(
        self, org_id: str, fields: dict[str, Any], *, replaces: CredlyBadge | None = None
    ) -> CredlyBadge:
        """Validated fields in; the new badge (pending, or the old state on a replace)."""
        org = self.organization(org_id)
        template = self._issuable_template(org, fields["badge_template_id"])
        self._check_duplicate(org, template, fields, ignore=replaces)
        now = self._clock()
        expires_at = fields.get("expires_at")
        if expires_at is None and template.default_expiry_days is not None:
            expires_at = fields["issued_at"] + timedelta(days=template.default_expiry_days)
        badge = CredlyBadge(
            id=str(uuid.uuid4()),
            template_id=template.id,
            recipient_email=fields["recipient_email"],
            first_name=fields["issued_to_first_name"],
            last_name=fields["issued_to_last_name"],
            middle_name=fields.get("issued_to_middle_name"),
            issuer_earner_id=fields.get("issuer_earner_id"),
            issued_at=fields["issued_at"],
            expires_at=expires_at or None,
            state=replaces.state if replaces and replaces.state == "accepted" else "pending",
            created_at=now,
            updated_at=now,
            state_updated_at=now,
            evidence=_evidence(fields.get("evidence") or []),
            locale=fields.get("locale") or "en",
            replaces_badge_id=replaces.id if replaces else None,
        )
        org.badges[badge.id] = badge
        if replaces is not None:
            replaces.replacement_badge_id = badge.id
            replaces.updated_at = now
        self._emit_badge(org, "badge.created", badge)
        return badge

    def replace(self, org_id: str, badge_id: str, fields: dict[str, Any]) -> CredlyBadge:
        old = self.badge(org_id, badge_id)
        if old.replacement_badge_id is not None:
            current = self._current(org_id, old)
            raise credly_error(422, ALREADY_REPLACED_MESSAGE, current_badge_id=current.id)
        if old.state == "revoked":
            raise credly_error(422, "Validation failed: A revoked badge cannot be replaced.")
        carried = {
            "recipient_email": old.recipient_email,
            "issued_to_first_name": old.first_name,
            "issued_to_last_name": old.last_name,
            "issued_to_middle_name": old.middle_name,
            "issuer_earner_id": old.issuer_earner_id,
        }
        merged = {
            **carried,
            **{k: v for k, v in fields.items() if v is not None or k == "expires_at"},
        }
        return self.issue(org_id, merged, replaces=old)

    def revoke(self, org_id: str, badge_id: str, reason: str) -> CredlyBadge:
        badge = self.badge(org_id, badge_id)
        if badge.replacement_badge_id is not None:
            current = self._current(org_id, badge)
            raise credly_error(
                422,
                "Validation failed: This badge cannot be revoked because it has been replaced.",
                current_badge_id=current.id,
            )
        if badge.state == "revoked":
            raise credly_error(422, "Validation failed: This badge has already been revoked.")
        badge.revocation_reason = reason
        self._move(self.organization(org_id), badge, "revoked")
        return badge

    def delete(self, org_id: str, badge_id: str) -> None:
        org = self.organization(org_id)
        badge = self.badge(org_id, badge_id)
        snapshot = self.badge_as_api(org, badge)
        del org.badges[badge_id]
        self._emit(org, "badge.deleted", {"badge": snapshot})

    # ---- serialisation ---------------------------------------------------------------

    def template_as_api(self, org: CredlyOrganization, t: CredlyTemplate) -> dict[str, Any]:
        slug = t.name.lower().replace(" ", "-")
        image = f"{WEB_HOST}/images/{t.id}/image.png"
        return {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "state": t.state,
            "public": True,
            "allow_duplicate_badges": t.allow_duplicate_badges,
            "image_url": image,
            "image": {"id": t.id, "url": image},
            "url": f"{WEB_HOST}/org/{org.id}/badge/{slug}",
            "vanity_slug": slug,
            "skills": list(t.skills),
            "recipient_type": "User",
            "owner": {"type": "Organization", "id": org.id, "name": org.name, "verified": True},
            "badges_count": sum(1 for b in org.badges.values() if b.template_id == t.id),
            "created_at": iso(t.created_at),
            "updated_at": iso(t.updated_at),
            "state_updated_at": iso(t.state_updated_at),
        }

    def badge_as_api(self, org: CredlyOrganization, b: CredlyBadge) -> dict[str, Any]:
        template = org.templates.get(b.template_id)
        names = [b.first_name, b.middle_name or "", b.last_name]
        data: dict[str, Any] = {
            "id": b.id,
            "state": b.state,
            "recipient_email": b.recipient_email,
            "issued_to": " ".join(n for n in names if n),
            "issued_to_first_name": b.first_name,
            "issued_to_middle_name": b.middle_name,
            "issued_to_last_name": b.last_name,
            "issuer_earner_id": b.issuer_earner_id,
            "locale": b.locale,
            "issued_at": iso(b.issued_at),
            "issued_at_date": day(b.issued_at),
            "expires_at": iso(b.expires_at),
            "expires_at_date": day(b.expires_at),
            "state_updated_at": iso(b.state_updated_at),
            "created_at": iso(b.created_at),
            "updated_at": iso(b.updated_at),
            "revocation_reason": b.revocation_reason,
            "replacement_badge_id": b.replacement_badge_id,
            "replaces_badge_id": b.replaces_badge_id,
            "public": False,
            "badge_url": f"{WEB_HOST}/badges/{b.id}",
            "accept_badge_url": f"{WEB_HOST}/badges/{b.id}/accept"
            if b.state == "pending"
            else None,
            "evidence": [dict(e) for e in b.evidence],
            "badge_template": (
                self.template_as_api(org, template) if template else {"id": b.template_id}
            ),
        }
        if template is not None:
            data["image_url"] = data["badge_template"]["image_url"]
        return data

    # ---- internals -------------------------------------------------------------------

    def _issuable_template(self, org: CredlyOrganization, template_id: str) -> CredlyTemplate:
        template = org.templates.get(template_id)
        if template is None:
            raise credly_error(422, "Validation failed: Badge template not found")
        if template.state != "active":
            raise credly_error(422, f"Validation failed: Badge template is {template.state}")
        return template

    def _check_duplicate(
        self,
        org: CredlyOrganization,
        template: CredlyTemplate,
        fields: dict[str, Any],
        ignore: CredlyBadge | None,
    ) -> None:
        behavior = fields.get("duplicate_behavior") or "deny"
        if template.allow_duplicate_badges or behavior == "allow":
            return
        email = fields["recipient_email"].lower()
        earner = fields.get("issuer_earner_id")
        for badge in org.badges.values():
            held = badge.state != "revoked" and badge.replacement_badge_id is None
            same = badge.recipient_email.lower() == email or (
                earner and badge.issuer_earner_id == earner
            )
            if badge is not ignore and badge.template_id == template.id and held and same:
                raise credly_error(422, DUPLICATE_MESSAGE)

    def _current(self, org_id: str, badge: CredlyBadge) -> CredlyBadge:
        org = self.organization(org_id)
        while badge.replacement_badge_id and badge.replacement_badge_id in org.badges:
            badge = org.badges[badge.replacement_badge_id]
        return badge

    def _move(self, org: CredlyOrganization, badge: CredlyBadge, state: str) -> None:
        now = self._clock()
        badge.state = state
        badge.state_updated_at = now
        badge.updated_at = now
        self._emit_badge(org, "badge.state.changed", badge)

    def _emit_badge(self, org: CredlyOrganization, event_type: str, badge: CredlyBadge) -> None:
        self._emit(org, event_type, {"badge": self.badge_as_api(org, badge)})

    def _emit_template(
        self, org: CredlyOrganization, event_type: str, template: CredlyTemplate
    ) -> None:
        self._emit(org, event_type, {"badge_template": self.template_as_api(org, template)})

    def _emit(self, org: CredlyOrganization, event_type: str, details: dict[str, Any]) -> None:
        event = CredlyEvent(str(uuid.uuid4()), event_type, org.id, self._clock(), details)
        org.events.append(event)
        for listener in self.listeners:
            listener(event)


def _check_choice(value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{value!r} is not one of {choices}")


def _evidence(items: list[Any]) -> list[dict[str, Any]]:
    """Stored as sent, each given an id (the response adds one)."""
    result = []
    for item in items:
        if not isinstance(item, dict) or "type" not in item:
            raise credly_error(422, "Validation failed: Evidence is invalid")
        result.append({**item, "id": str(uuid.uuid4())})
    return result
