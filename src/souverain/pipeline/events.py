"""Event stage: every call ends with an event that the sink must accept before the client gets an answer."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from souverain.events import Event, EventSink, emit_or_refuse
from souverain.pipeline.call import Call
from souverain.privacy.subjects import event_subject

Digest = Callable[[bytes], str]


def call_event(call: Call, digest: Digest | None = None) -> Event:
    """The event describing ``call``: identifiers, counts, entity types and keyed content digests."""
    use_case = call.principal.use_case
    target = call.target
    served = target.backend.served_model(target.upstream_model) if target else None
    details: dict[str, object] = {"duration_ms": round(call.duration_ms(), 3)}
    if len(call.notes.get("subjects", ())) > 1:
        details["subjects"] = len(call.notes["subjects"])
    for note in ("privacy_policy", "entity_counts"):
        if note in call.notes:
            details[note] = call.notes[note]
    if call.error_code:
        details["error_code"] = call.error_code
    response = "".join(call.response_parts)
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
        served_model=served.name if served else None,
        weights_sha256=served.weights_sha256 if served else None,
        entity_types=tuple(call.notes.get("entity_types", ())),
        subject=event_subject(call.notes.get("subjects", ())),
        request_digest=call.notes.get("request_digest"),
        response_digest=digest(response.encode()) if digest and call.response_parts else None,
    )


class EventStage:
    name = "events"

    def __init__(self, sink: EventSink, digest: Digest | None = None) -> None:
        self.sink = sink
        self.digest = digest  # keyed (HMAC) digest of content; None when no audit key is configured

    async def before(self, call: Call) -> None:
        # first stage: the digest commits to what the client sent, before any stage rewrites it
        if self.digest is not None:
            call.notes["request_digest"] = self.digest(
                orjson.dumps(call.payload, option=orjson.OPT_SORT_KEYS)
            )

    async def after(self, call: Call) -> None:
        await emit_or_refuse(self.sink, call_event(call, self.digest))
