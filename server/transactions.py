"""Runs blocking database work off the event loop.

All writes go through one thread, in order: SQLite allows one writer at a time, and a
single writer also gives batches a total order, which keeps duplicate detection simple.
Reads use a small pool so views never wait behind ingest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

__all__ = ["TransactionRunner"]

T = TypeVar("T")


class TransactionRunner:
    def __init__(self, sessions: sessionmaker[Session], read_threads: int = 4) -> None:
        self._sessions = sessions
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="badgeflow-write")
        self._readers = ThreadPoolExecutor(
            max_workers=read_threads, thread_name_prefix="badgeflow-read"
        )

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with self._sessions() as session, session.begin():
            return work(session)

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in its own transaction on the writer thread; committed on return.

        The work runs to completion even if the awaiting task is cancelled (a client
        going away mid-batch), so a batch is never half-applied."""
        future = asyncio.get_running_loop().run_in_executor(
            self._writer, self._in_transaction, work
        )
        return await asyncio.shield(future)

    async def read(self, work: Callable[[Session], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._readers, self._in_transaction, work
        )

    def close(self) -> None:
        """Wait for queued work to finish; called after the gRPC server stopped."""
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
