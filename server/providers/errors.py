"""The four kinds of provider failure the worker acts on differently (plus two
refinements), mapped from httpx at the clients' edge."""

from __future__ import annotations

__all__ = [
    "ProviderAuthError",
    "ProviderDuplicate",
    "ProviderError",
    "ProviderNotFound",
    "ProviderOutcomeUnknown",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderTransportError",
]


class ProviderError(Exception):
    """Base; messages never contain a token."""


class ProviderTransportError(ProviderError):
    """Nothing was applied (connection refused, 5xx before processing): retry."""


class ProviderRateLimited(ProviderTransportError):
    """429: retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderOutcomeUnknown(ProviderError):
    """The request may have been applied (timeout, connection dropped after sending):
    ask the provider what it holds before sending again."""


class ProviderRejected(ProviderError):
    """A 4xx: sending the same request again will fail the same way."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProviderAuthError(ProviderRejected):
    """401/403: the token or key is wrong, expired or lacks a permission."""


class ProviderNotFound(ProviderRejected):
    """404: the organisation, template or badge does not exist there."""


class ProviderDuplicate(ProviderRejected):
    """422: the earner already holds this badge and the template forbids duplicates."""
