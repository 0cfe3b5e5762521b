"""Time formats of the two APIs: Credly's lenient request timestamps and ISO-8601 `.000Z`
answers, Accredible's `YYYY-MM-DD` dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from .wire import ApiError

_CREDLY_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S")


def parse_timestamp(value: object, field: str) -> datetime:
    """Documented `2014-04-01 09:41:00 -0500`, ISO-8601 or a bare date; else a 422."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        for fmt in _CREDLY_FORMATS:
            try:
                return _utc(datetime.strptime(text, fmt))
            except ValueError:
                pass
        try:
            return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise ApiError(
        422, {"data": {"message": f"Validation failed: {field} is invalid"}, "metadata": {}}
    )


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """`2014-04-01T14:41:00.000Z`, as Credly answers."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def day(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%d")


def parse_day(value: object, field: str) -> date | None:
    """Accredible dates: `YYYY-MM-DD` (a longer timestamp is cut to its date); null stays null."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ApiError(422, {"errors": {field: ["is not a valid date"]}})
