"""API key secrets: generation, the visible prefix, and salted hashing (the secret is never stored).

A key looks like ``souv_<prefix>_<secret>``: the prefix (12 characters) identifies the key in listings,
usage records and audit events; the secret (256 bits) is only ever shown once. Keys are random, not
passwords, so a salted SHA-256 is enough and keeps verification in microseconds on the request path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 12
KEY_START = "souv_"


@dataclass(frozen=True)
class NewKey:
    full: str  # shown once to the caller
    prefix: str  # "souv_" + 12 characters, stored and displayed
    salt: str
    secret_hash: str


def _hash(secret: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def generate() -> NewKey:
    """A fresh key with its prefix, salt and hash."""
    prefix = KEY_START + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return NewKey(full=f"{prefix}_{secret}", prefix=prefix, salt=salt, secret_hash=_hash(secret, salt))


def split(full: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, or None."""
    if not full.startswith(KEY_START):
        return None
    prefix_end = len(KEY_START) + PREFIX_LENGTH
    if len(full) <= prefix_end + 1 or full[prefix_end] != "_":
        return None
    return full[:prefix_end], full[prefix_end + 1 :]


def matches(secret: str, salt: str, secret_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(_hash(secret, salt), secret_hash)
