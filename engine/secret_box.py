"""Credentials at rest: encrypted with a key from the environment, never stored in clear.

Webhook signing secrets (and any other credential a column declares as
``EncryptedText``) are sealed with AES-256-GCM before they reach the
database, so a copy of the database or a backup alone reveals none of them.
The key comes from ``HUIQIAN_ENCRYPTION_KEY`` (32 bytes, URL-safe base64;
``services.config`` generates one into the data directory when unset).
Values carry a version prefix, ``v1:``, so the format can change later.
"""

from __future__ import annotations

import base64
import os
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, TypeDecorator

PREFIX = "v1:"
_NONCE_BYTES = 12


class SecretBoxError(RuntimeError):
    """The key is missing or wrong, or a stored value was tampered with."""


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretBoxError("the encryption key must be 32 bytes (URL-safe base64)")
        self._aead = AESGCM(key)

    @classmethod
    def from_key_text(cls, text: str) -> SecretBox:
        try:
            key = base64.urlsafe_b64decode(text.strip().encode())
        except ValueError as exc:
            raise SecretBoxError("the encryption key is not URL-safe base64") from exc
        return cls(key)

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise SecretBoxError("a stored credential is not encrypted")
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode())
        try:
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
        except InvalidTag:
            raise SecretBoxError(
                "a stored credential does not open with this HUIQIAN_ENCRYPTION_KEY"
            ) from None


_box: SecretBox | None = None


def configure(box: SecretBox) -> None:
    """Install the process's key (the service does this when it builds the app)."""
    global _box
    _box = box


def current() -> SecretBox:
    if _box is None:
        raise SecretBoxError("no encryption key configured (HUIQIAN_ENCRYPTION_KEY)")
    return _box


class EncryptedText(TypeDecorator[str]):
    """A string column stored sealed; Python code only ever sees the clear value."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return current().seal(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return current().open(value) if value is not None else None
