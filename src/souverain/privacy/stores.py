"""The privacy layer's stores, opened together from one secret: vaults, subject identifiers, subject links,
and the sealer of the texts conversation stores keep."""

from __future__ import annotations

from dataclasses import dataclass

from souverain.privacy.sealed_text import TextSealer
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.subjects import SubjectKeys
from souverain.privacy.vault import VaultCipher, load_secret
from souverain.privacy.vault_store import VaultStore
from souverain.settings import Settings
from souverain.storage.database import Database


@dataclass(frozen=True)
class PrivacyStores:
    vault: VaultStore
    subjects: SubjectKeys
    links: SubjectLinks
    texts: TextSealer


def open_privacy_stores(settings: Settings, database: Database) -> PrivacyStores:
    """The stores, their key read or generated under the data directory (blocking I/O)."""
    secret = load_secret(settings.privacy, settings.data_dir)
    cipher = VaultCipher(secret)
    ttl = settings.privacy.vault_ttl_seconds
    return PrivacyStores(
        vault=VaultStore(database.sessions, cipher, ttl),
        subjects=SubjectKeys(secret),
        links=SubjectLinks(database.sessions, cipher, ttl),
        texts=TextSealer(secret),
    )
