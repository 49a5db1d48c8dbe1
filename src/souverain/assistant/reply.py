"""What the assistant answers: the reply object of the API, with its citations and provenance."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from souverain.assistant.citations import Citation
from souverain.assistant.language import Language
from souverain.routing.router import Target


@dataclass(frozen=True)
class Provenance:
    """Machine-readable provenance of an answer (AI Act Art. 50(2)); no model for a fixed refusal text."""

    model: str | None  # the model that served the answer, as its backend names it
    alias: str | None  # the public alias the assistant called
    weights_sha256: str | None
    created: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def of(cls, target: Target | None, alias: str) -> Provenance:
        """The provenance of an answer generated through ``target`` (none: not generated)."""
        if target is None:
            return cls(None, None, None)
        served = target.backend.served_model(target.upstream_model)
        return cls(served.name, alias, served.weights_sha256)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "weights_sha256": self.weights_sha256,
            "created": self.created,
        }


@dataclass(frozen=True)
class Reply:
    """One answer of the assistant, as ``POST /v1/assistant/chat`` returns it."""

    conversation_id: str
    answer: str
    language: Language
    citations: tuple[Citation, ...]
    notice: str | None
    grounded: bool
    handover_offered: bool
    provenance: Provenance
    # why it is not grounded: low_confidence, no_answer, no_valid_citation or no_substance (it only lists
    # sources, or loops)
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "answer": self.answer,
            "language": self.language,
            "citations": [c.as_dict() for c in self.citations],
            "notice": self.notice,
            "grounded": self.grounded,
            "handover_offered": self.handover_offered,
            "provenance": self.provenance.as_dict(),
        }
