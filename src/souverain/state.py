"""What the application builds at start-up and hands to request handlers (on ``app.state.services``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from souverain.assistant.service import AssistantService
from souverain.audit.runtime import AuditRuntime
from souverain.backends.base import Backend
from souverain.events import EventSink
from souverain.gateway.chat import ChatService
from souverain.gateway.embeddings import EmbeddingsService
from souverain.gdpr.rights import SubjectRights
from souverain.governance.auth import KeyAuthenticator
from souverain.governance.principal import Principal
from souverain.governance.quotas import Limiter
from souverain.knowledge.service import KnowledgeService
from souverain.pipeline.usage import UsageWriter
from souverain.privacy.detector import Detector
from souverain.privacy.stores import PrivacyStores
from souverain.privacy.vault_store import VaultStore
from souverain.routing.router import Router
from souverain.settings import Settings
from souverain.storage.database import Database


@dataclass
class Services:
    settings: Settings
    backends: dict[str, Backend]
    router: Router
    chat: ChatService
    embeddings: EmbeddingsService
    database: Database
    authenticator: KeyAuthenticator
    limiter: Limiter
    events: EventSink
    usage: UsageWriter
    audit: AuditRuntime | None  # None when tests pass their own event sink
    detector: Detector  # personal-data detector, loaded once at start-up
    vault: VaultStore  # conversations' pseudonymisation vaults
    privacy: PrivacyStores  # the vaults, subject identifiers and subject-to-conversation links
    rights: SubjectRights | None  # subject access and erasure; None without the application's audit trail
    knowledge: KnowledgeService  # collections, ingestion, hybrid search
    assistant: AssistantService  # grounded answers, conversations, hand-over tickets
    anonymous: Principal | None = None  # set only when authentication is switched off
    started_at: int = field(default_factory=lambda: int(time.time()))
