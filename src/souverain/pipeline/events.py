"""Event stage: every call ends with an event that the sink must accept before the client gets an answer."""

from __future__ import annotations

from souverain.errors import BackendUnavailable
from souverain.events import Event, EventSink
from souverain.pipeline.call import Call


def call_event(call: Call) -> Event:
    """The event describing ``call`` (identifiers and counts only)."""
    use_case = call.principal.use_case
    target = call.target
    served = target.backend.served_model(target.upstream_model) if target else None
    details: dict[str, object] = {"duration_ms": round(call.duration_ms(), 3)}
    if served is not None:
        details["served_model"] = served.name
        if served.weights_sha256:
            details["weights_sha256"] = served.weights_sha256
    if call.error_code:
        details["error_code"] = call.error_code
    return Event(
        action=call.action,
        outcome=call.outcome,
        request_id=call.request_id,
        actor=call.principal.key_prefix,
        tenant=use_case.tenant if use_case else None,
        use_case=use_case.name if use_case else None,
        purpose=use_case.purpose if use_case else None,
        model=call.model.name,
        backend=target.route.backend if target else None,
        zone=target.backend.settings.zone.value if target else None,
        classification=call.classification.value if call.classification else None,
        status=call.status,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        details=details,
    )


class EventStage:
    name = "events"

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    async def before(self, call: Call) -> None:
        return None

    async def after(self, call: Call) -> None:
        try:
            await self.sink.emit(call_event(call))
        except Exception as exc:
            raise BackendUnavailable(
                "The event store is unavailable; the request was refused.", code="event_store_unavailable"
            ) from exc
