"""Keyset paging: the page token is the last key of the previous page, opaque to callers."""

from __future__ import annotations

import base64
import binascii

from badgeflow.v1 import common_pb2

from server.errors import FieldViolation, InvalidArgument

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "decode_token", "encode_token", "page_size"]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_PREFIX = "k1:"


def page_size(page: common_pb2.PageRequest) -> int:
    if page.page_size < 0:
        raise InvalidArgument(
            "INVALID_PAGE_SIZE",
            "page_size must not be negative",
            [FieldViolation("page.page_size", "use 0 for the default or a positive number")],
        )
    return min(page.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(last_key: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + last_key).encode()).decode()


def decode_token(token: str) -> str | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX):
        raise InvalidArgument(
            "INVALID_PAGE_TOKEN",
            "page_token is not one this server issued",
            [
                FieldViolation(
                    "page.page_token", "pass next_page_token of the previous response unchanged"
                )
            ],
        )
    return text[len(_PREFIX) :]
