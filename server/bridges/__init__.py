"""Bridges: separate processes that connect a learning platform's own event bus to
badgeflow through the SDK (never through server internals)."""

__all__: list[str] = []
