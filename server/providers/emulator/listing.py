"""Credly list conventions: `filter=key::value|key::value`, `sort=key|-key`, `page`, and
the `metadata` block with an absolute `next_page_url`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .wire import ApiError, Request

T = TypeVar("T")

CREDLY_PAGE_SIZE = 50
_MAX_PER = 100


def credly_error(status: int, message: str, **metadata: Any) -> ApiError:
    return ApiError(status, {"data": {"message": message}, "metadata": metadata})


def parse_filter(raw: str, allowed: Sequence[str]) -> dict[str, str]:
    """`state::active|name::x` -> {"state": "active", "name": "x"}; unknown keys are a 400."""
    result: dict[str, str] = {}
    for part in filter(None, raw.split("|")):
        key, sep, value = part.partition("::")
        if not sep or key not in allowed:
            raise credly_error(400, f"Invalid filter: {part}")
        result[key] = value
    return result


def sort_items(
    items: list[T], raw: str, keys: Mapping[str, Callable[[T], Any]], default: str
) -> list[T]:
    """Stable multi-key sort; `-key` is descending; unknown keys are a 400."""
    for part in reversed([p for p in (raw or default).split("|") if p]):
        name = part.removeprefix("-")
        if name not in keys:
            raise credly_error(400, f"Invalid sort: {part}")
        items = sorted(items, key=keys[name], reverse=part.startswith("-"))
    return items


def credly_page(request: Request, items: list[Any]) -> dict[str, Any]:
    """One page of `items` (already serialised) in the Credly envelope."""
    page = _positive_int(request.query.get("page", "1"), "page")
    per = min(_positive_int(request.query.get("per", str(CREDLY_PAGE_SIZE)), "per"), _MAX_PER)
    total = len(items)
    total_pages = max(1, -(-total // per))
    chunk = items[(page - 1) * per : page * per]
    return {
        "data": chunk,
        "metadata": {
            "count": len(chunk),
            "current_page": page,
            "total_count": total,
            "total_pages": total_pages,
            "per": per,
            "previous_page_url": request.url_with(page=str(page - 1)) if page > 1 else None,
            "next_page_url": request.url_with(page=str(page + 1)) if page < total_pages else None,
        },
    }


def _positive_int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise credly_error(400, f"Invalid {name}: {raw}")
    return value


def split_values(raw: str) -> set[str]:
    """A filter value's comma list ("any of")."""
    return {v for v in raw.split(",") if v}
