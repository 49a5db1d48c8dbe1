"""One model call as it travels through the pipeline: who, what, where, and how it ended."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from souverain.governance.principal import Principal
from souverain.governance.quotas import Reservation
from souverain.pipeline.output import OutputFilter
from souverain.routing.router import BackendFilter, Target
from souverain.settings import Classification, ModelSettings


@dataclass
class Call:
    request_id: str
    action: str  # chat.completion or embeddings
    principal: Principal
    model: ModelSettings
    # what the backend will receive (stages may rewrite it), and filters rewriting what the model says
    payload: dict[str, Any] = field(default_factory=dict)
    output_filters: list[OutputFilter] = field(default_factory=list)
    response_parts: list[str] = field(default_factory=list)  # generated text, for the response digest
    requested_classification: str | None = None
    classification: Classification | None = None
    allowed: BackendFilter | None = None
    estimated_tokens: int = 0
    reservation: Reservation | None = None
    target: Target | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished: float | None = None
    status: int = 200
    outcome: str = "success"  # success, refused, error, client_disconnected
    error_code: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def mark_first_token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def ttft_ms(self) -> float | None:
        return None if self.first_token_at is None else (self.first_token_at - self.started) * 1000

    def duration_ms(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return (end - self.started) * 1000
