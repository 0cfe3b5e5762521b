"""Accredible's in-memory world: configurations (one API key each, seeing only their own
groups, designs and credentials), groups, designs and credentials. Ids are global integers,
as on the real service."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .timefmt import day, iso, parse_day
from .wire import ApiError

DASHBOARD = "https://dashboard.accredible.emulator.test"
CREDENTIAL_HOST = "https://www.credential.emulator.test"
DUPLICATE_MESSAGE = (
    "has already been taken. Your group settings do not allow duplicates of this credential "
    "to be sent to the same email."
)
NOT_FOUND = {"errors": "Doesn't exist"}

Clock = Callable[[], datetime]


@dataclass(slots=True)
class AccredibleDesign:
    id: int
    name: str
    kind: str  # "badge" | "certificate"
    created_at: datetime
    updated_at: datetime

    def as_api(self, groups: list[int]) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "orientation": "landscape",
            "size": "standard",
            "department_id": None,
            "rasterized_content_url": f"{CREDENTIAL_HOST}/designs/{self.id}/rasterized.png",
            "groups": groups,
            "meta_data": {},
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(slots=True)
class AccredibleGroup:
    id: int
    name: str
    course_name: str
    course_description: str
    primary_design_id: int | None
    badge_design_id: int | None
    certificate_design_id: int | None
    allow_duplicate_credentials: bool
    created_at: datetime
    updated_at: datetime

    def as_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "course_name": self.course_name,
            "course_description": self.course_description,
            "course_link": f"{DASHBOARD}/courses/{self.id}",
            "language": "en",
            "design_id": self.primary_design_id,
            "primary_design_id": self.primary_design_id,
            "badge_design_id": self.badge_design_id,
            "certificate_design_id": self.certificate_design_id,
            "department_id": None,
            "meta_data": {},
            "allow_duplicate_credentials": self.allow_duplicate_credentials,
            "blockchain": False,
            "attach_pdf": False,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(slots=True)
class AccredibleCredential:
    id: int
    uuid: str
    group_id: int
    recipient_name: str
    recipient_email: str
    recipient_id: str | None
    name: str
    description: str
    issued_on: date
    expired_on: date | None
    approve: bool
    private: bool
    created_at: datetime
    updated_at: datetime
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    meta_data: dict[str, Any] = field(default_factory=dict)
    evidence_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class AccredibleConfiguration:
    key: str
    name: str
    groups: dict[int, AccredibleGroup] = field(default_factory=dict)
    designs: dict[int, AccredibleDesign] = field(default_factory=dict)
    credentials: dict[int, AccredibleCredential] = field(default_factory=dict)


class AccredibleStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.configurations: dict[str, AccredibleConfiguration] = {}
        self._group_ids = itertools.count(1001)
        self._design_ids = itertools.count(501)
        self._credential_ids = itertools.count(10_000_001)

    # ---- auth and lookup -------------------------------------------------------------

    def authorize(self, header: str) -> AccredibleConfiguration:
        """`Token token=<key>` (documented); `Token <key>` and `Bearer <key>` also pass,
        as Rails' token auth accepts them. Anything else: Rails' plain-text 401."""
        scheme, _, rest = header.strip().partition(" ")
        key = rest.strip()
        if scheme.lower() == "token" and key.startswith("token="):
            key = key.removeprefix("token=").strip('"')
        config = self.configurations.get(key) if scheme.lower() in ("token", "bearer") else None
        if config is None:
            raise ApiError(401, "HTTP Token: Access denied.\n")
        return config

    def group(self, config: AccredibleConfiguration, group_id: object) -> AccredibleGroup:
        group = config.groups.get(_int_or_none(group_id))  # type: ignore[arg-type]
        if group is None:
            raise ApiError(404, {"success": False, "data": "Group does not exist"})
        return group

    def design(self, config: AccredibleConfiguration, design_id: object) -> AccredibleDesign:
        design = config.designs.get(_int_or_none(design_id))  # type: ignore[arg-type]
        if design is None:
            raise ApiError(404, NOT_FOUND)
        return design

    def credential(self, config: AccredibleConfiguration, cred_id: object) -> AccredibleCredential:
        credential = config.credentials.get(_int_or_none(cred_id))  # type: ignore[arg-type]
        if credential is None:
            raise ApiError(
                404, {"success": False, "data": "No credential with the id given in your account"}
            )
        return credential

    # ---- admin helpers ---------------------------------------------------------------

    def add_configuration(self, name: str, *, key: str | None = None) -> AccredibleConfiguration:
        config = AccredibleConfiguration(key=key or uuid.uuid4().hex, name=name)
        self.configurations[config.key] = config
        return config

    def add_design(self, key: str, name: str, *, kind: str = "badge") -> AccredibleDesign:
        now = self._clock()
        design = AccredibleDesign(next(self._design_ids), name, kind, now, now)
        self.configurations[key].designs[design.id] = design
        return design

    def add_group(
        self,
        key: str,
        name: str,
        *,
        course_name: str = "",
        design_id: int | None = None,
        allow_duplicates: bool = False,
    ) -> AccredibleGroup:
        now = self._clock()
        group = AccredibleGroup(
            id=next(self._group_ids),
            name=name,
            course_name=course_name or name,
            course_description=f"{course_name or name} description",
            primary_design_id=design_id,
            badge_design_id=design_id,
            certificate_design_id=None,
            allow_duplicate_credentials=allow_duplicates,
            created_at=now,
            updated_at=now,
        )
        self.configurations[key].groups[group.id] = group
        return group

    # ---- API operations --------------------------------------------------------------

    def create_credential(
        self, config: AccredibleConfiguration, body: dict[str, Any]
    ) -> AccredibleCredential:
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or not recipient:
            raise ApiError(422, {"errors": "Can not create credential without recipient data"})
        group = self._group_for_write(config, body)
        email = _required_text(recipient, "email", "recipient.email")
        self._check_duplicate(config, group, email, ignore=None)
        now = self._clock()
        credential = AccredibleCredential(
            id=next(self._credential_ids),
            uuid=str(uuid.uuid4()),
            group_id=group.id,
            recipient_name=_required_text(recipient, "name", "recipient.name"),
            recipient_email=email,
            recipient_id=_text_or_none(recipient.get("id")),
            name=body.get("name") or group.course_name,
            description=body.get("description") or group.course_description,
            issued_on=parse_day(body.get("issued_on"), "issued_on") or now.date(),
            expired_on=parse_day(body.get("expired_on"), "expired_on"),
            approve=bool(body.get("approve", True)),
            private=bool(body.get("private", False)),
            created_at=now,
            updated_at=now,
            custom_attributes=dict(body.get("custom_attributes") or {}),
            meta_data=dict(body.get("meta_data") or {}),
            evidence_items=_evidence(body.get("evidence_items") or []),
        )
        config.credentials[credential.id] = credential
        return credential

    def update_credential(
        self, config: AccredibleConfiguration, cred_id: str, body: dict[str, Any]
    ) -> AccredibleCredential:
        credential = self.credential(config, cred_id)
        group = self._group_for_write(config, body) if _names_group(body) else None
        recipient = body.get("recipient") or {}
        if not isinstance(recipient, dict):
            raise ApiError(422, {"errors": "Invalid recipient"})
        email = credential.recipient_email
        if "email" in recipient:
            email = _required_text(recipient, "email", "recipient.email")
        target = group or config.groups[credential.group_id]
        if group is not None or email.lower() != credential.recipient_email.lower():
            self._check_duplicate(config, target, email, ignore=credential)
        credential.group_id = target.id
        credential.recipient_email = email
        if "name" in recipient:
            credential.recipient_name = _required_text(recipient, "name", "recipient.name")
        if "id" in recipient:
            credential.recipient_id = _text_or_none(recipient["id"])
        for key in ("issued_on", "expired_on"):
            if key in body:
                setattr(credential, key, parse_day(body[key], key))
        for key in ("name", "description", "approve", "private", "custom_attributes", "meta_data"):
            if key in body:
                setattr(credential, key, body[key])
        credential.updated_at = self._clock()
        return credential

    def delete_credential(
        self, config: AccredibleConfiguration, cred_id: str
    ) -> AccredibleCredential:
        credential = self.credential(config, cred_id)
        del config.credentials[credential.id]
        return credential

    # ---- serialisation ---------------------------------------------------------------

    def credential_as_api(
        self, config: AccredibleConfiguration, c: AccredibleCredential
    ) -> dict[str, Any]:
        group = config.groups.get(c.group_id)
        image = f"{CREDENTIAL_HOST}/{c.id}/badge.png"
        return {
            "id": c.id,
            "uuid": c.uuid,
            "encoded_id": c.uuid.replace("-", "")[:16],
            "url": f"{CREDENTIAL_HOST}/{c.id}",
            "name": c.name,
            "description": c.description,
            "group_id": c.group_id,
            "group_name": group.name if group else None,
            "issued_on": day(c.issued_on),
            "expired_on": day(c.expired_on),
            "approve": c.approve,
            "private": c.private,
            "complete": True,
            "grade": None,
            "custom_attributes": dict(c.custom_attributes),
            "meta_data": dict(c.meta_data),
            "seo_image": image,
            "badge": {"image": {"preview": image}},
            "certificate": {"image": {"preview": f"{CREDENTIAL_HOST}/{c.id}/certificate.png"}},
            "evidence_items": [dict(e) for e in c.evidence_items],
            "references": [],
            "recipient": {
                "name": c.recipient_name,
                "email": c.recipient_email,
                "id": c.recipient_id,
                "phone_number": None,
                "meta_data": {},
            },
            "issuer": {"id": 1, "name": config.name, "description": "", "url": DASHBOARD},
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
        }

    def credential_as_search_hit(
        self, config: AccredibleConfiguration, c: AccredibleCredential
    ) -> dict[str, Any]:
        """The flat v2 search item."""
        group = config.groups[c.group_id]
        return {
            "id": c.id,
            "uuid": c.uuid,
            "encoded_id": c.uuid.replace("-", "")[:16],
            "name": c.name,
            "group": {
                "id": group.id,
                "name": group.name,
                "course_name": group.course_name,
                "badge_design_id": group.badge_design_id,
                "certificate_design_id": group.certificate_design_id,
            },
            "recipient_name": c.recipient_name,
            "recipient_email": c.recipient_email,
            "recipient_id": c.recipient_id,
            "recipient_meta_data": {},
            "approve": c.approve,
            "published_on": day(c.issued_on) if c.approve else None,
            "issued_on": day(c.issued_on),
            "expired_on": day(c.expired_on),
            "private": c.private,
            "license_id": None,
            "custom_attributes": dict(c.custom_attributes),
            "meta_data": dict(c.meta_data),
            "grade": None,
            "seo_image": f"{CREDENTIAL_HOST}/{c.id}/badge.png",
            "recipient_opened": False,
            "recipient_engaged": False,
            "issuer_id": 1,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
        }

    # ---- internals -------------------------------------------------------------------

    def _group_for_write(
        self, config: AccredibleConfiguration, body: dict[str, Any]
    ) -> AccredibleGroup:
        group = config.groups.get(_int_or_none(body.get("group_id")))  # type: ignore[arg-type]
        if group is None and body.get("group_name"):
            group = next((g for g in config.groups.values() if g.name == body["group_name"]), None)
        if group is None:
            raise ApiError(422, {"errors": "Invalid Group"})
        return group

    def _check_duplicate(
        self,
        config: AccredibleConfiguration,
        group: AccredibleGroup,
        email: str,
        ignore: AccredibleCredential | None,
    ) -> None:
        if group.allow_duplicate_credentials:
            return
        for other in config.credentials.values():
            same = other.group_id == group.id and other.recipient_email.lower() == email.lower()
            if same and other is not ignore:
                raise ApiError(422, {"errors": {"recipient.email": [DUPLICATE_MESSAGE]}})


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _names_group(body: dict[str, Any]) -> bool:
    return body.get("group_id") is not None or bool(body.get("group_name"))


def _required_text(recipient: dict[str, Any], key: str, field_name: str) -> str:
    value = recipient.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, {"errors": {field_name: ["can't be blank"]}})
    return value.strip()


def _text_or_none(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _evidence(items: list[Any]) -> list[dict[str, Any]]:
    return [{**item, "id": index + 1} for index, item in enumerate(items) if isinstance(item, dict)]
