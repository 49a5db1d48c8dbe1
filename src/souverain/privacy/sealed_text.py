"""Text kept at rest sealed: the assistant's stored questions, answers and hand-over questions.

A conversation store keeps what people wrote for the use case's retention, so that a follow-up question
sees the previous exchange, staff can answer a hand-over, and the person can obtain or erase it. Those
texts are sealed with AES-256-GCM under a key derived from the privacy secret (the one the vaults use, with
its own purpose), bound as associated data to where they are stored (the conversation row and the field):
a database dump, backup or read-only SQL access shows no one's words, and a ciphertext moved to another
conversation does not open. Rows written before sealing (plain text, no ``sealed:v1:`` prefix) are read as
they are. A sealed text that does not open refuses the request (``DetectionError``, 503): never a guess.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from souverain.errors import DetectionError
from souverain.privacy.vault import derive_key

PREFIX = "sealed:v1:"
_NONCE_BYTES = 12
_AAD = b"souverain-privacy/stored-text/v1\x00"


class TextSealer:
    """Seals and opens stored texts, each bound to its place (``where``)."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(derive_key(secret, b"souverain-privacy/stored-text"))

    def seal(self, text: str, where: str) -> str:
        """``text`` as ``sealed:v1:`` and the base64 of nonce, ciphertext and tag."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, text.encode(), _AAD + where.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, where: str) -> str:
        """The text sealed in ``stored`` for ``where``; a text stored before sealing is returned as is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            blob = base64.b64decode(stored[len(PREFIX) :], validate=True)
            plain = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _AAD + where.encode())
        except (InvalidTag, ValueError):
            raise DetectionError(
                "A stored conversation cannot be opened; the request was refused.",
                code="stored_text_unreadable",
            ) from None
        return plain.decode()
