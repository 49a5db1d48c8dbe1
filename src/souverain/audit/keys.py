"""The audit trail's keys: the HMAC key of keyed digests and the Ed25519 key that signs checkpoints.

Both are read from the settings or from files under ``data_dir/keys``, created on first use with mode 0600.
Several processes may start at once: a key file is written under a temporary name and linked into place,
so that every process ends up with the same key and none reads a half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from souverain.errors import SouverainError
from souverain.settings import AuditSettings

HMAC_FILE = "audit-hmac.key"
SIGNING_FILE = "audit-ed25519.pem"


class AuditKeys:
    """The keys one installation's audit trail is written and checked with."""

    def __init__(self, hmac_key: bytes, signing_key: Ed25519PrivateKey) -> None:
        self.hmac_key = hmac_key
        self.signing_key = signing_key
        self._keyed = hmac.HMAC(hmac_key, hashes.SHA256())  # copied per digest: the key schedule is done once

    def personal_digest(self, field: str, value: str) -> str:
        """The keyed digest (hex) that stands for a personal field's value in the chain."""
        return self._mac(b"souverain-audit/personal\x00" + field.encode() + b"\x00" + value.encode())

    def content_digest(self, content: bytes) -> str:
        """The keyed digest (hex) of request or response content: audit events carry this, never content."""
        return self._mac(b"souverain-audit/content\x00" + content)

    def _mac(self, message: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.finalize().hex()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_pem(self) -> str:
        """The public key that checks checkpoint signatures, as PEM (SubjectPublicKeyInfo)."""
        return public_pem(self.public_key)

    @property
    def key_id(self) -> str:
        """A short identifier of the signing key: the first 16 hex digits of SHA-256 of the raw public key."""
        return key_id(self.public_key)

    def sign(self, message: bytes) -> str:
        """The Ed25519 signature of ``message``, hex."""
        return self.signing_key.sign(message).hex()

    def signature_valid(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` (hex) is this key's signature of ``message``."""
        try:
            self.public_key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def public_pem(public_key: Ed25519PublicKey) -> str:
    """``public_key`` as PEM text."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_keys(audit: AuditSettings, data_dir: Path) -> AuditKeys:
    """The configured keys, generating the missing ones under ``data_dir/keys``."""
    keys_dir = data_dir / "keys"
    if audit.hmac_key is not None:
        hmac_key = audit.hmac_key.get_secret_value().encode()
    else:
        hmac_key = bytes.fromhex(_read_or_create(keys_dir / HMAC_FILE, _new_hmac_key).decode().strip())
    signing_path = audit.signing_key_path or keys_dir / SIGNING_FILE
    pem = _read_or_create(signing_path, _new_signing_key)
    try:
        signing_key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise SouverainError(f"The audit signing key {signing_path} cannot be read: {exc}") from None
    if not isinstance(signing_key, Ed25519PrivateKey):
        raise SouverainError(f"The audit signing key {signing_path} is not an Ed25519 key.")
    if len(hmac_key) < 16:
        raise SouverainError("The audit HMAC key must be at least 16 bytes long.")
    return AuditKeys(hmac_key=hmac_key, signing_key=signing_key)


def _new_hmac_key() -> bytes:
    return secrets.token_hex(32).encode() + b"\n"


def _new_signing_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _read_or_create(path: Path, generate: Callable[[], bytes]) -> bytes:
    """The file's bytes; when it does not exist, ``generate()``'s bytes written there with mode 0600."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(generate())
            handle.flush()
            os.fsync(handle.fileno())
        # atomic, and fails if another process created the key first: then everybody uses that one
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()
