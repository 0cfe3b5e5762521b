"""Accredible's HTTP surface (`/v1/...` and `/v2/credentials/search`) over `AccredibleStore`."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from .accredible_store import AccredibleConfiguration, AccredibleCredential, AccredibleStore
from .timefmt import parse_day
from .wire import ApiError, Request, Response

DEFAULT_PAGE_SIZE = 50
_MAX_OFFSET = 10_000
_SEARCH_FIELDS: dict[str, Callable[[AccredibleCredential], Any]] = {
    "uuid": lambda c: c.uuid,
    "group.id": lambda c: c.group_id,
    "recipient_name": lambda c: c.recipient_name,
    "recipient_email": lambda c: c.recipient_email.lower(),
    "recipient_id": lambda c: c.recipient_id,
    "approve": lambda c: c.approve,
    "issued_on": lambda c: c.issued_on,
    "expired_on": lambda c: c.expired_on,
    "updated_at": lambda c: c.updated_at,
    "created_at": lambda c: c.created_at,
}
_SORT_FIELDS: dict[str, Callable[[AccredibleCredential], Any]] = {
    "id": lambda c: c.id,
    "recipient_name": lambda c: c.recipient_name.lower(),
    "issued_on": lambda c: c.issued_on,
    "expired_on": lambda c: c.expired_on or date.max,
}
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "in": lambda a, b: a in b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
}


class AccredibleApi:
    def __init__(self, store: AccredibleStore) -> None:
        self.store = store

    async def handle(self, request: Request) -> Response:
        config = self.store.authorize(request.headers.get("authorization", ""))
        parts = [p for p in request.path.split("/") if p]
        routes: dict[tuple[str, ...], Callable[..., Response]] = {
            ("GET", "v1", "issuer", "details"): self._issuer_details,
            ("POST", "v1", "issuer", "groups", "search"): self._search_groups,
            ("GET", "v1", "issuer", "all_groups"): self._all_groups,
            ("GET", "v1", "issuer", "groups", "*"): self._get_group,
            ("GET", "v1", "designs", "*"): self._get_design,
            ("POST", "v1", "credentials"): self._create,
            ("GET", "v1", "credentials", "*"): self._get,
            ("PUT", "v1", "credentials", "*"): self._update,
            ("PATCH", "v1", "credentials", "*"): self._update,
            ("DELETE", "v1", "credentials", "*"): self._delete,
            ("POST", "v2", "credentials", "search"): self._search_credentials,
        }
        key = (request.method, *parts)
        route = routes.get(key) or routes.get((*key[:-1], "*"))
        if route is None:
            raise ApiError(404, {"error": "Not found"})
        return route(request, config, parts[-1])

    # ---- groups and designs ----------------------------------------------------------

    def _search_groups(self, request: Request, config: AccredibleConfiguration, _: str) -> Response:
        body = request.json()
        groups = list(config.groups.values())
        if body.get("ids"):
            wanted = {_positive(i, "ids", 0) for i in body["ids"]}
            groups = [g for g in groups if g.id in wanted]
        for key in ("name", "course_name"):
            if body.get(key):
                groups = [g for g in groups if body[key].lower() in getattr(g, key).lower()]
        start = parse_day(body.get("start_updated_date"), "start_updated_date")
        end = parse_day(body.get("end_updated_date"), "end_updated_date")
        groups = [
            g
            for g in groups
            if (start is None or g.updated_at.date() >= start)
            and (end is None or g.updated_at.date() <= end)
        ]
        return self._group_page(groups, body.get("page", 1), body.get("page_size"))

    def _all_groups(self, request: Request, config: AccredibleConfiguration, _: str) -> Response:
        groups = list(config.groups.values())
        if request.query.get("name"):
            groups = [g for g in groups if request.query["name"].lower() in g.name.lower()]
        return self._group_page(
            groups, request.query.get("page", 1), request.query.get("page_size")
        )

    def _group_page(self, groups: list[Any], page_raw: object, size_raw: object) -> Response:
        page = _positive(page_raw, "page", 1)
        size = _positive(size_raw, "page_size", DEFAULT_PAGE_SIZE)
        total_pages = max(1, -(-len(groups) // size))
        chunk = groups[(page - 1) * size : page * size]
        meta = {
            "current_page": page,
            "next_page": page + 1 if page < total_pages else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": total_pages,
            "total_count": len(groups),
        }
        return Response(200, {"groups": [g.as_api() for g in chunk], "meta": meta})

    def _issuer_details(
        self, request: Request, config: AccredibleConfiguration, _: str
    ) -> Response:
        """The issuer (account) the key belongs to; badgeflow reads its name on connect."""
        return Response(200, {"issuer": {"name": config.name}})

    def _get_group(self, request: Request, config: AccredibleConfiguration, gid: str) -> Response:
        return Response(200, {"group": self.store.group(config, gid).as_api()})

    def _get_design(self, request: Request, config: AccredibleConfiguration, did: str) -> Response:
        design = self.store.design(config, did)
        groups = [g.id for g in config.groups.values() if design.id in _design_ids(g)]
        return Response(200, {"design": design.as_api(groups)})

    # ---- credentials -----------------------------------------------------------------

    def _create(self, request: Request, config: AccredibleConfiguration, _: str) -> Response:
        credential = self.store.create_credential(config, _credential_body(request))
        return self._one(config, credential)

    def _get(self, request: Request, config: AccredibleConfiguration, cid: str) -> Response:
        return self._one(config, self.store.credential(config, cid))

    def _update(self, request: Request, config: AccredibleConfiguration, cid: str) -> Response:
        credential = self.store.update_credential(config, cid, _credential_body(request))
        return self._one(config, credential)

    def _delete(self, request: Request, config: AccredibleConfiguration, cid: str) -> Response:
        return self._one(config, self.store.delete_credential(config, cid))

    def _one(self, config: AccredibleConfiguration, credential: AccredibleCredential) -> Response:
        return Response(200, {"credential": self.store.credential_as_api(config, credential)})

    def _search_credentials(
        self, request: Request, config: AccredibleConfiguration, _: str
    ) -> Response:
        """v2 search. `meta.count` is the number of matches; `meta.cursor` continues
        after this page (null on the last one), whichever paging style was used."""
        body = request.json()
        conditions = _conditions(body.get("query") or {})
        hits = [
            c
            for c in config.credentials.values()
            if all(test(get(c), wanted) for get, test, wanted in conditions)
        ]
        hits = _sorted(hits, body.get("sort") or {})
        start, size = _window(body.get("page") or {})
        chunk = hits[start : start + size]
        after = start + len(chunk)
        meta = {
            "count": len(hits),
            "from": start,
            "size": size,
            "cursor": _encode_cursor(after) if after < len(hits) else None,
        }
        items = [self.store.credential_as_search_hit(config, c) for c in chunk]
        return Response(200, {"credentials": items, "meta": meta})


def _credential_body(request: Request) -> dict[str, Any]:
    body = request.json().get("credential")
    if not isinstance(body, dict):
        raise ApiError(400, {"errors": "param is missing or the value is empty: credential"})
    return body


def _design_ids(group: Any) -> set[int]:
    ids = (group.primary_design_id, group.badge_design_id, group.certificate_design_id)
    return {i for i in ids if i is not None}


def _positive(raw: object, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise ApiError(400, {"errors": f"Invalid {name}"})
    return value


def _search_error(message: str) -> ApiError:
    return ApiError(
        400, {"code": 400, "message": message, "status": "invalid_search_query", "errors": {}}
    )


Condition = tuple[Callable[[AccredibleCredential], Any], Callable[[Any, Any], bool], Any]


def _conditions(query: dict[str, Any]) -> list[Condition]:
    """`{"field[op]": value}` (a bare field means eq), checked before any matching."""
    result = []
    for raw_key, value in query.items():
        name, _, op = raw_key.partition("[")
        op = op.rstrip("]") or "eq"
        if name not in _SEARCH_FIELDS or op not in _OPERATORS:
            raise _search_error(f"Unsupported query field: {raw_key}")
        if op == "in" and not isinstance(value, list):
            raise _search_error(f"{raw_key} needs a list")
        wanted = [_coerce(name, v) for v in value] if op == "in" else _coerce(name, value)
        result.append((_SEARCH_FIELDS[name], _OPERATORS[op], wanted))
    return result


def _coerce(name: str, value: Any) -> Any:
    """A query value in the field's own type (dates, timestamps, lower-cased email)."""
    try:
        if name in ("issued_on", "expired_on"):
            return date.fromisoformat(str(value)[:10])
        if name in ("updated_at", "created_at"):
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if name == "group.id":
            return int(value)
    except (TypeError, ValueError):
        raise _search_error(f"Invalid value for {name}: {value}") from None
    if name == "recipient_email":
        return str(value).lower()
    return value


def _sorted(hits: list[AccredibleCredential], sort: dict[str, str]) -> list[AccredibleCredential]:
    hits = sorted(hits, key=lambda c: c.id)
    for key, direction in reversed(list(sort.items())):
        if key not in _SORT_FIELDS or direction not in ("asc", "desc"):
            raise _search_error(f"Unsupported sort: {key}")
        hits = sorted(hits, key=_SORT_FIELDS[key], reverse=direction == "desc")
    return hits


def _window(page: dict[str, Any]) -> tuple[int, int]:
    size = _positive(page.get("size"), "size", DEFAULT_PAGE_SIZE)
    if "cursor" in page and "from" in page:
        raise _search_error("page.cursor cannot be combined with page.from")
    if "cursor" in page:
        return _decode_cursor(page["cursor"]), size
    start = page.get("from", 0)
    if not isinstance(start, int) or start < 0 or start + size > _MAX_OFFSET:
        raise _search_error("page.from is out of range")
    return start, size


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: object) -> int:
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        raise _search_error("Invalid cursor") from None
