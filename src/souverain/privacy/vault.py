"""The pseudonymisation vault: which placeholder stands for which personal value in one conversation.

A vault maps each detected value to a typed placeholder (``<PERSON_1>``, ``<LU_MATRICULE_1>``), the same
value always to the same placeholder, so that a model can refer to "<PERSON_1>" consistently and the answer
can be restored. At rest a vault is one AES-GCM ciphertext (``VaultCipher``): its key is derived from the
``privacy.vault_key`` setting (or a key file generated under ``data_dir/keys``), and its scope (the tenant
and the use case, ``vault_scope``) and the conversation id are its associated data, so a ciphertext moved
to another conversation, use case or tenant, or altered in any way, does not open. The expiry time is
inside the ciphertext: changing the stored column does not extend a vault's life. An unreadable vault
refuses the request as ``DetectionError`` (503 ``privacy_unavailable``): privacy fails closed. Values
never leave this object except to restore answers and, to the person's own data-protection request, their
own values.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from souverain.errors import DetectionError, InvalidRequest, SouverainError
from souverain.privacy.checksums import compact
from souverain.privacy.entities import EntityType
from souverain.settings import PrivacySettings

KEY_FILE = "privacy-vault.key"
CONVERSATION_HEADER = "X-Conversation-Id"
PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*)_([1-9][0-9]*)>")
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_NONCE_BYTES = 12
_MIN_SECRET = 32
# Identifiers are the same whatever their separators: "LU28 0019 ..." and "LU280019..." share a placeholder.
_COMPACTED = frozenset(
    {
        EntityType.LU_MATRICULE,
        EntityType.IBAN,
        EntityType.LU_VAT,
        EntityType.FR_NIR,
        EntityType.BE_NATIONAL_NUMBER,
        EntityType.DE_TAX_ID,
        EntityType.CREDIT_CARD,
        EntityType.PHONE,
    }
)


def check_conversation_id(value: str, param: str = CONVERSATION_HEADER) -> str:
    """The conversation id, if it is 1-128 letters, digits or ``._:-`` (400 otherwise)."""
    if not _CONVERSATION_ID.fullmatch(value):
        raise InvalidRequest(
            f"{param} must be 1 to 128 letters, digits, dots, colons, underscores or hyphens.",
            param=param,
            code="invalid_conversation_id",
        )
    return value


def vault_scope(tenant_id: int, use_case_id: int) -> str:
    """Whose vaults these are: one use case of one tenant. The string is opaque to the vault (sealed in the
    locators, bound as associated data), so a conversation id sent with a key of another use case, even of
    the same tenant, names another vault and never restores this one's values."""
    return f"{tenant_id}/{use_case_id}"


def scope_ids(scope: str) -> tuple[int, int | None]:
    """The tenant id and use-case id of a vault scope (scopes written before use cases were part of
    them are the tenant id alone: use case None)."""
    tenant, _, use_case = scope.partition("/")
    return int(tenant), int(use_case) if use_case else None


def normal_form(value: str, entity_type: EntityType) -> str:
    """What makes two spellings of a value the same value (separators, case, spacing)."""
    if entity_type in _COMPACTED:
        return compact(value)
    return " ".join(value.split()).casefold()


@dataclass
class Vault:
    """One conversation's placeholders; ``version`` 0 means not stored yet."""

    tenant: str
    conversation_id: str | None
    expires_at: datetime
    version: int = 0
    # never in repr(): a vault that ends up in a log line or a traceback must not print the values
    _placeholders: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    _values: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # placeholder -> value
    _counters: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def placeholder(self, value: str, entity_type: EntityType) -> str:
        """The placeholder of ``value``, a new one (``<TYPE_n>``) the first time the value is seen."""
        key = (entity_type.value, normal_form(value, entity_type))
        existing = self._placeholders.get(key)
        if existing is not None:
            return existing
        number = self._counters.get(entity_type.value, 0) + 1
        self._counters[entity_type.value] = number
        placeholder = f"<{entity_type.value}_{number}>"
        self._placeholders[key] = placeholder
        self._values[placeholder] = value
        return placeholder

    def values(self) -> dict[str, str]:
        """Placeholder -> value, for restoring answers."""
        return dict(self._values)

    def entries(self) -> list[tuple[str, EntityType, str]]:
        """(placeholder, type, value) of every value, for subject access and erasure."""
        return [(p, EntityType(t), self._values[p]) for (t, _), p in self._placeholders.items()]

    def keep(self, wanted: Callable[[EntityType, str], bool]) -> int:
        """Drop every value ``wanted(type, value)`` refuses; returns how many went. Placeholder numbers
        are never given again: a dropped ``<EMAIL_2>`` still met in the conversation stays unrestored."""
        gone = [
            (key, p)
            for key, p in self._placeholders.items()
            if not wanted(EntityType(key[0]), self._values[p])
        ]
        for key, placeholder in gone:
            del self._placeholders[key]
            del self._values[placeholder]
        return len(gone)

    def __len__(self) -> int:
        return len(self._values)

    def plaintext(self) -> bytes:
        """The serialised mapping, numbering and expiry (what the cipher encrypts)."""
        entries = [[t, n, self._values[p], p] for (t, n), p in self._placeholders.items()]
        document = {"expires_at": self.expires_at.timestamp(), "entries": entries, "counters": self._counters}
        return orjson.dumps(document)

    @classmethod
    def parse(cls, plaintext: bytes, tenant: str, conversation_id: str | None, version: int) -> Vault:
        """The vault serialised by ``plaintext``."""
        data = orjson.loads(plaintext)
        vault = cls(tenant, conversation_id, datetime.fromtimestamp(data["expires_at"], UTC), version)
        for entity_type, normal, value, placeholder in data["entries"]:
            vault._placeholders[(entity_type, normal)] = placeholder
            vault._values[placeholder] = value
            number = int(placeholder.rsplit("_", 1)[1][:-1])
            vault._counters[entity_type] = max(vault._counters.get(entity_type, 0), number)
        for entity_type, number in data.get("counters", {}).items():  # absent from vaults sealed before
            vault._counters[entity_type] = max(vault._counters.get(entity_type, 0), number)
        return vault


def derive_key(secret: bytes, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from the privacy secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


_LOCATOR_AAD = b"souverain-privacy/locator/v1"


def _associated_data(tenant: str, conversation_id: str | None) -> bytes:
    return b"souverain-privacy/vault/v1\x00" + tenant.encode() + b"\x00" + (conversation_id or "").encode()


class VaultCipher:
    """Seals vaults with AES-256-GCM bound to their tenant and conversation, and names them by digest."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SECRET:
            raise SouverainError(f"The privacy vault key must be at least {_MIN_SECRET} characters long.")
        self._aead = AESGCM(derive_key(secret, b"souverain-privacy/vault-encryption"))
        self._handle_key = derive_key(secret, b"souverain-privacy/vault-handle")

    def handle(self, tenant: str, conversation_id: str) -> str:
        """The keyed digest (hex) under which a conversation's vault is stored."""
        message = tenant.encode() + b"\x00" + conversation_id.encode()
        return hmac.new(self._handle_key, message, hashlib.sha256).hexdigest()

    def seal(self, vault: Vault) -> bytes:
        """Nonce + ciphertext + tag of the vault's mapping and expiry."""
        nonce = os.urandom(_NONCE_BYTES)
        aad = _associated_data(vault.tenant, vault.conversation_id)
        return nonce + self._aead.encrypt(nonce, vault.plaintext(), aad)

    def seal_locator(self, tenant: str, conversation_id: str) -> bytes:
        """The conversation's tenant and id, sealed, so that a subject's conversations can be found again."""
        nonce = os.urandom(_NONCE_BYTES)
        message = tenant.encode() + b"\x00" + conversation_id.encode()
        return nonce + self._aead.encrypt(nonce, message, _LOCATOR_AAD)

    def open_locator(self, blob: bytes) -> tuple[str, str]:
        """The (tenant, conversation id) sealed by ``seal_locator``; ``DetectionError`` if altered."""
        try:
            plaintext = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _LOCATOR_AAD)
        except (InvalidTag, ValueError):
            raise DetectionError(
                "A conversation locator cannot be opened.", code="vault_unreadable"
            ) from None
        tenant, _, conversation_id = plaintext.decode().partition("\x00")
        return tenant, conversation_id

    def open(
        self, blob: bytes, tenant: str, conversation_id: str | None, now: datetime, version: int = 0
    ) -> Vault | None:
        """The vault sealed in ``blob``, or None when it has expired; ``DetectionError`` when it does not
        open (altered, or sealed for another tenant or conversation, or under another key)."""
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        try:
            plaintext = self._aead.decrypt(nonce, sealed, _associated_data(tenant, conversation_id))
        except (InvalidTag, ValueError):
            raise DetectionError(
                "The pseudonymisation vault of this conversation cannot be opened; the request was refused.",
                code="vault_unreadable",
            ) from None
        vault = Vault.parse(plaintext, tenant, conversation_id, version)
        return vault if vault.expires_at > now else None


def load_secret(settings: PrivacySettings, data_dir: Path) -> bytes:
    """The configured vault secret, or the one in ``data_dir/keys/privacy-vault.key`` (created, 0600)."""
    if settings.vault_key is not None:
        return settings.vault_key.get_secret_value().encode()
    path = data_dir / "keys" / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return path.read_bytes().strip()


def _create_key_file(path: Path) -> None:
    """Write a random key with mode 0600; if another process wins the race, its key is the one used."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # atomic, and never replaces a key another process wrote first
    finally:
        temporary.unlink(missing_ok=True)
