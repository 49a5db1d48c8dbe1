"""What the application builds at start-up and hands to request handlers (on ``app.state.services``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from souverain.backends.base import Backend
from souverain.gateway.chat import ChatService
from souverain.gateway.embeddings import EmbeddingsService
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
    started_at: int = field(default_factory=lambda: int(time.time()))
