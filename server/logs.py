"""Structured logging: one JSON object per line (or readable text), with the `extra`
fields of each call as keys, so operators can filter on event ids, methods, reasons.

A line logged while an RPC is served carries that RPC's `request_id` (server.request_ids
sets `current_request_id`; `RequestIdFilter` stamps it on each record)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["RequestIdFilter", "configure_logging", "current_request_id"]

#: The id of the RPC being served; empty outside one.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "badgeflow_request_id", default=""
)

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to records logged during an RPC (a record that names its own,
    as ingest does for a batch's events, keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = current_request_id.get()
            if request_id:
                record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str, fmt: str) -> None:
    """Install one stderr handler on the `badgeflow` logger tree (not the root logger, so
    embedding the server in tests leaves other loggers alone)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("badgeflow")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
