"""A scripted provider for `httpx.MockTransport`, and realistic Credly/Accredible bodies.

`Script` holds the exact requests a test expects, in order, each with the response to give
(or the exception to raise, as a dropped connection would). Every request is checked for
method, path, query, the auth header and the JSON body; a test then checks `done()`.
Bodies follow the published examples summarised in /work/shared/providers.md."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

CREDLY_ORG = "6bb2e1c7-c66b-4d47-9301-4a6b9e792e2c"
CREDLY_TOKEN = "tok-SECRET-credly-3f9a"
CREDLY_AUTH = "Basic " + base64.b64encode(f"{CREDLY_TOKEN}:".encode()).decode()
CREDLY_HOST = "https://api.credly.com"
ORG_PATH = f"/v1/organizations/{CREDLY_ORG}"

ACCREDIBLE_KEY = "key-SECRET-accredible-77c1"
ACCREDIBLE_AUTH = f"Token token={ACCREDIBLE_KEY}"

TEMPLATE_ID = "1b6e4bd6-0cf4-4bd9-9d1e-2a4a1b1f5f6f"
BADGE_ID = "a9b7e0f2-1d2c-4e1b-8f3c-5b6a7c8d9e01"
NEW_BADGE_ID = "c0ffee00-1d2c-4e1b-8f3c-5b6a7c8d9e02"

NO_BODY = object()


@dataclass
class Call:
    method: str
    url: str  # path, or a full URL when the host matters
    response: httpx.Response | Exception
    params: dict[str, str] = field(default_factory=dict)
    json: Any = NO_BODY


class Script:
    def __init__(self, auth: str, calls: list[Call]) -> None:
        self.auth = auth
        self.calls = list(calls)
        self.seen: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        assert self.calls, f"unexpected request {request.method} {request.url}"
        call = self.calls.pop(0)
        assert request.headers["authorization"] == self.auth
        assert request.headers["accept"] == "application/json"
        path = request.url.raw_path.split(b"?")[0].decode("ascii")  # as sent, still escaped
        got = (
            f"{request.url.scheme}://{request.url.netloc.decode()}{path}"
            if "://" in call.url
            else path
        )
        assert (request.method, got) == (call.method, call.url)
        params = request.url.params
        assert len(params.multi_items()) == len(params), "repeated query parameter"
        assert dict(params) == call.params
        if call.json is NO_BODY:
            assert request.content == b""
        else:
            assert request.headers["content-type"] == "application/json"
            assert json.loads(request.content) == call.json
        if isinstance(call.response, Exception):
            raise call.response
        return call.response

    def done(self) -> bool:
        return not self.calls


def reply(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


# -- Credly ---------------------------------------------------------------------------------


def credly_template(template_id: str = TEMPLATE_ID, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": template_id,
        "name": "Python Foundations",
        "description": "Completed the Python foundations track.",
        "state": "active",
        "public": True,
        "allow_duplicate_badges": False,
        "image": {"id": "img-1", "url": f"https://images.credly.com/{template_id}.png"},
        "image_url": f"https://images.credly.com/{template_id}.png",
        "url": f"https://www.credly.com/org/acme/badge/{template_id}",
        "vanity_slug": "python-foundations",
        "skills": ["Python"],
        "owner": {"type": "Organization", "id": CREDLY_ORG, "name": "Acme Academy"},
        "created_at": "2025-01-10T08:00:00.000Z",
        "updated_at": "2025-02-01T08:00:00.000Z",
    }
    return body | overrides


def credly_badge(badge_id: str = BADGE_ID, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": badge_id,
        "state": "pending",
        "state_updated_at": "2026-03-01T09:00:00.000Z",
        "recipient_email": "ada@example.com",
        "issued_to": "Ada Lovelace",
        "issued_to_first_name": "Ada",
        "issued_to_last_name": "Lovelace",
        "issuer_earner_id": "award-42",
        "issued_at": "2026-03-01T09:00:00.000Z",
        "issued_at_date": "2026-03-01",
        "expires_at": "2027-03-01T09:00:00.000Z",
        "expires_at_date": "2027-03-01",
        "revocation_reason": None,
        "replacement_badge_id": None,
        "replaces_badge_id": None,
        "badge_url": f"https://www.credly.com/badges/{badge_id}",
        "accept_badge_url": f"https://www.credly.com/badges/{badge_id}/accept",
        "image_url": f"https://images.credly.com/{TEMPLATE_ID}.png",
        "badge_template": credly_template(),
        "user": {"id": "u-1", "email": "ada@example.com", "first_name": "Ada"},
        "evidence": [],
        "created_at": "2026-03-01T09:00:01.000Z",
        "updated_at": "2026-03-01T09:00:01.000Z",
    }
    return body | overrides


def credly_one(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "metadata": {}}


def credly_page(items: list[dict[str, Any]], page: int, total_pages: int) -> dict[str, Any]:
    base = f"{CREDLY_HOST}{ORG_PATH}/badges"
    return {
        "data": items,
        "metadata": {
            "count": len(items),
            "current_page": page,
            "total_count": 50 * (total_pages - 1) + len(items),
            "total_pages": total_pages,
            "per": 50,
            "previous_page_url": f"{base}?page={page - 1}" if page > 1 else None,
            "next_page_url": f"{base}?page={page + 1}" if page < total_pages else None,
        },
    }


# -- Accredible -----------------------------------------------------------------------------


def accredible_group(group_id: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": group_id,
        "name": f"internal-{group_id}",
        "course_name": f"Course {group_id}",
        "course_description": f"About course {group_id}",
        "course_link": f"https://academy.example.com/courses/{group_id}",
        "language": "en",
        "design_id": None,
        "certificate_design_id": None,
        "badge_design_id": None,
        "primary_design_id": None,
        "department_id": 12,
        "meta_data": {},
        "allow_duplicate_credentials": False,
        "created_at": "2025-01-10T08:00:00.000Z",
        "updated_at": "2025-02-01T08:00:00.000Z",
    }
    return body | overrides


def accredible_design(design_id: int) -> dict[str, Any]:
    return {
        "design": {
            "id": design_id,
            "name": f"Design {design_id}",
            "kind": "badge",
            "orientation": "portrait",
            "size": "a4",
            "department_id": 12,
            "rasterized_content_url": f"https://images.accredible.com/designs/{design_id}.png",
            "groups": [],
            "meta_data": {},
            "created_at": "2025-01-10T08:00:00.000Z",
            "updated_at": "2025-01-10T08:00:00.000Z",
        }
    }


def accredible_credential(credential_id: int = 10000005, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": credential_id,
        "encoded_id": "zYx9",
        "url": f"https://www.credential.net/{credential_id}",
        "name": "Course 7",
        "description": "About course 7",
        "group_id": 7,
        "group_name": "internal-7",
        "issued_on": "2026-03-01",
        "expired_on": "2027-03-01",
        "approve": True,
        "private": False,
        "complete": True,
        "custom_attributes": {},
        "meta_data": {"badgeflow_earner_key": "award-42"},
        "seo_image": "https://images.accredible.com/seo.png",
        "badge": {"image": {"preview": "https://images.accredible.com/badge.png"}},
        "recipient": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "id": "learner-1",
            "meta_data": {},
        },
        "issuer": {"id": 1, "name": "Acme Academy", "url": "https://academy.example.com"},
        "evidence_items": [],
        "references": [],
        "updated_at": "2026-03-01T09:00:01.000Z",
    }
    return body | overrides


def accredible_item(credential_id: int, **overrides: Any) -> dict[str, Any]:
    """A flat v2 search item."""
    body = {
        "id": credential_id,
        "uuid": f"uuid-{credential_id}",
        "encoded_id": "zYx9",
        "name": "Course 7",
        "group": {
            "id": 7,
            "name": "internal-7",
            "course_name": "Course 7",
            "badge_design_id": 3,
            "certificate_design_id": None,
        },
        "recipient_name": "Ada Lovelace",
        "recipient_email": "ada@example.com",
        "recipient_id": "learner-1",
        "recipient_meta_data": {},
        "approve": True,
        "published_on": "2026-03-01",
        "issued_on": "2026-03-01",
        "expired_on": None,
        "private": False,
        "custom_attributes": {},
        "meta_data": {"badgeflow_earner_key": "award-42"},
        "recipient_opened": False,
        "recipient_engaged": False,
        "issuer_id": 1,
        "created_at": "2026-03-01T09:00:00.000Z",
        "updated_at": "2026-03-02T10:00:00+00:00",
    }
    return body | overrides
