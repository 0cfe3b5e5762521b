"""What one `python -m bench` run shares between scenarios: its size, a scratch
directory, the PostgreSQL server, and the databases prepared with 10,000 templates
(preparing one takes about a minute, so each backend's is made once per run and copied)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.backends import Postgres, copy_sqlite, sqlite_url
from bench.provisioning import apply_through_service, prepare_in_store

__all__ = ["Context"]


@dataclass
class Context:
    quick: bool
    workdir: Path
    postgres: Postgres = field(default_factory=Postgres.from_environment)
    _cleanup: ExitStack = field(default_factory=ExitStack)
    _prepared: dict[tuple[str, int, bool], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _postgres_problem: list[str | None] = field(default_factory=list)

    def close(self) -> None:
        self._cleanup.close()

    def unavailable(self, backend: str) -> str | None:
        """Why `backend` cannot be benchmarked here (asked once per run), or None."""
        if backend != "postgresql":
            return None
        if self.quick:
            return "not run by --quick (kept short for the smoke test); `make bench` runs it"
        if not self._postgres_problem:
            self._postgres_problem.append(self.postgres.unreachable())
        return self._postgres_problem[0]

    @contextmanager
    def database(self, backend: str, name: str) -> Iterator[str]:
        """An empty database for one measurement, removed after it."""
        if backend == "postgresql":
            with self.postgres.fresh_database() as url:
                yield url
            return
        url = sqlite_url(self.workdir, name)
        try:
            yield url
        finally:
            _remove_sqlite(url)

    @contextmanager
    def prepared_copy(
        self, backend: str, templates: int, name: str, *, services: bool = True
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """A copy of the database prepared with `templates` templates (through the
        services, or directly in the store), and the setup figures of the preparation."""
        source, setup = self._prepare(backend, templates, services)
        if backend == "postgresql":
            with self.postgres.fresh_database(template=source) as url:
                yield url, setup
            return
        url = copy_sqlite(source, self.workdir, name)
        try:
            yield url, setup
        finally:
            _remove_sqlite(url)

    def _prepare(self, backend: str, templates: int, services: bool) -> tuple[str, dict[str, Any]]:
        key = (backend, templates, services)
        if key not in self._prepared:
            if backend == "postgresql":
                url = self._cleanup.enter_context(self.postgres.fresh_database())
            else:
                url = sqlite_url(self.workdir, f"prepared-{templates}-{services}")
            if services:
                self._prepared[key] = (url, apply_through_service(url, templates))
            else:
                prepare_in_store(url, templates)
                self._prepared[key] = (url, {})
        return self._prepared[key]


def _remove_sqlite(url: str) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
