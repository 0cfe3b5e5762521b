"""Encryption of provider tokens at rest.

Tokens are stored encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under a key from the
environment (`BADGEFLOW_SECRET_KEY`), or, for a laptop, from a key file created on first
use with owner-only permissions. Losing the key means re-entering every provider token;
the error says so rather than failing obscurely."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SecretBox", "SecretKeyError", "load_secret_box"]

_log = logging.getLogger("badgeflow.secrets")


class SecretKeyError(ValueError):
    """The key is malformed, or does not open what was stored with another key."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise SecretKeyError(
                "BADGEFLOW_SECRET_KEY must be 32 url-safe base64-encoded bytes "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored provider token cannot be decrypted with the configured secret key: "
                "restore the key it was stored with, or reconnect the provider"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"


def load_secret_box(key: str, key_file: Path) -> SecretBox:
    """The key from settings; else the key file, created (mode 0600) when missing."""
    if key:
        return SecretBox(key.encode())
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
        _log.warning(
            "created a secret key file for provider tokens; set BADGEFLOW_SECRET_KEY in production",
            extra={"path": str(key_file)},
        )
    return SecretBox(key_file.read_bytes().strip())
