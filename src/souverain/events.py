"""Structured events: every request and admin change emits one through ``EventSink``.

A sink must raise when it cannot accept an event; the request path awaits ``emit`` before it
answers, so that no request completes without its event (fail closed). The audit trail provides the
durable, tamper-evident sink; ``MemorySink`` and ``LogSink`` serve tests and development.
Events never carry message content or personal data: only identifiers, counts and outcomes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from souverain.errors import BackendUnavailable

logger = logging.getLogger(__name__)

EVENT_STORE_UNAVAILABLE = "event_store_unavailable"


@dataclass(frozen=True)
class Event:
    action: str  # e.g. chat.completion, embeddings, admin.use_case.create, auth.failure
    outcome: str  # success, refused, error
    request_id: str
    actor: str | None = None  # key prefix or staff identity
    tenant: str | None = None
    use_case: str | None = None
    purpose: str | None = None
    model: str | None = None
    backend: str | None = None
    zone: str | None = None
    classification: str | None = None
    status: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    # Identity of what served the call (for a GGUF file, the sha256 of its weights).
    served_model: str | None = None
    weights_sha256: str | None = None
    # Privacy: the entity types detected (never their values), and the pseudonymous subject identifier of
    # the person concerned, if known (personal: purged on schedule, only a keyed digest stays in the chain).
    entity_types: tuple[str, ...] = ()
    subject: str | None = None
    # Keyed digests (HMAC-SHA256, hex) of the request and response content: never the content itself.
    request_digest: str | None = None
    response_digest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EventSink(Protocol):
    async def emit(self, event: Event) -> None:
        """Accept the event durably, or raise."""


class EventSinkError(Exception):
    """The sink could not accept an event; the request must be refused."""


REFUSED = "The event store is unavailable; the request was refused."


async def emit_or_refuse(sink: EventSink, event: Event, message: str = REFUSED) -> None:
    """Emit ``event``; when the sink cannot accept it, raise the 503 refusing the request (fail closed)."""
    try:
        await sink.emit(event)
    except Exception as exc:
        raise BackendUnavailable(message, code=EVENT_STORE_UNAVAILABLE) from exc


class MemorySink:
    """Keeps events in a list (tests)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)


class LogSink:
    """Writes events to the log (development; not durable, not tamper-evident)."""

    async def emit(self, event: Event) -> None:
        if logger.isEnabledFor(logging.INFO):  # building the dict costs more than the call
            logger.info("event %s", event.as_dict())
