from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from server.secrets import SecretBox, SecretKeyError, load_secret_box


def test_sealed_tokens_open_only_with_their_key() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal("tok-123")
    assert "tok-123" not in sealed
    assert box.open(sealed) == "tok-123"
    with pytest.raises(SecretKeyError, match="cannot be decrypted with the configured secret key"):
        SecretBox(Fernet.generate_key()).open(sealed)
    assert "tok" not in repr(box)


def test_a_malformed_key_is_explained() -> None:
    with pytest.raises(SecretKeyError, match="BADGEFLOW_SECRET_KEY must be 32 url-safe base64"):
        SecretBox(b"short")


def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = load_secret_box("", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_box("", path).open(first.seal("x")) == "x"
    explicit = Fernet.generate_key().decode()
    assert load_secret_box(explicit, path).open(SecretBox(explicit.encode()).seal("y")) == "y"
