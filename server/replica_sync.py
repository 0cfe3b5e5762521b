"""Keeping one server's in-memory configuration in step with the database it shares
with other replicas.

A server holds the rules in force (compiled) and the provider clients in memory. What
it changes itself takes effect at once; what another replica changes (applies rules,
activates a template, syncs, connects or disconnects a provider) this one notices by
comparing `config_mark` every few seconds, then reloads only what moved."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from server.store import rules as rules_repo
from server.transactions import TransactionRunner

__all__ = ["ConfigFollower"]

_log = logging.getLogger("badgeflow.replicas")


class ConfigFollower:
    def __init__(
        self,
        runner: TransactionRunner,
        reload_rules: Callable[[], Awaitable[None]],
        reload_providers: Callable[[], Awaitable[None]],
    ) -> None:
        self._runner = runner
        self._reload_rules = reload_rules
        self._reload_providers = reload_providers
        self._mark: tuple[Any, ...] | None = None

    async def check(self) -> bool:
        """Reload if the database's configuration moved since the last check (the first
        check always reloads: a change may have landed while this server started);
        returns whether it did."""
        mark = await self._runner.read(rules_repo.config_mark)
        if mark == self._mark:
            return False
        _log.info("configuration changed in the database; reloading")
        await self._reload_rules()
        await self._reload_providers()
        self._mark = mark
        return True

    async def follow(self, interval: float, stop: asyncio.Event) -> None:
        """`check` every `interval` seconds until `stop` is set; a failed check (the
        database restarting) is logged and tried again at the next tick."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a transient database error must not end it
                _log.warning("could not compare the configuration; trying again", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
