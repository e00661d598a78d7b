"""Stored answers are sealed with AES-GCM: they hold payment `client_secret`s.

One server secret (GATEWAY_IDEMPOTENCY_SECRET) is stretched into separate keys for sealing
and for naming (HMAC), so neither use weakens the other. Each sealed answer is bound to the
name it is stored under (associated data): a blob moved to another key does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SealError", "Secrets"]

_NONCE: Final = 12


class SealError(Exception):
    """A stored blob does not open under this secret (another secret, or tampered)."""


class Secrets:
    """The keys derived from the server secret: `naming` for HMACs, and the sealing cipher."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            msg = "the idempotency secret must have at least 16 bytes"
            raise ValueError(msg)
        self.naming = _derive(secret, b"naming")
        self._aead = AESGCM(_derive(secret, b"sealing"))

    @classmethod
    def random(cls) -> Secrets:
        """A per-process secret (development): keys are not shared with any other process."""
        return cls(os.urandom(32))

    def seal(self, plaintext: bytes, name: str) -> bytes:
        """Nonce + ciphertext + tag, bound to `name`."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, name.encode())

    def open(self, sealed: bytes, name: str) -> bytes:
        """The plaintext, or SealError."""
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], name.encode())
        except (InvalidTag, ValueError):
            raise SealError(name) from None


def _derive(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, b"medusa-graphql-gateway/" + label, hashlib.sha256).digest()
