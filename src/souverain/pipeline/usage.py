"""Usage stage: one accounting record per call (identifiers, counts and timings, never content)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from souverain.governance.models import UsageRecord
from souverain.pipeline.call import Call


def usage_record(call: Call) -> UsageRecord:
    """The usage row describing ``call``."""
    use_case = call.principal.use_case
    target = call.target
    return UsageRecord(
        request_id=call.request_id,
        created_at=datetime.now(UTC),
        tenant=use_case.tenant if use_case else None,
        use_case=use_case.name if use_case else None,
        key_prefix=call.principal.key_prefix,
        endpoint=call.action,
        model=call.model.name,
        backend=target.route.backend if target else None,
        zone=target.backend.settings.zone.value if target else None,
        classification=call.classification.value if call.classification else None,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        ttft_ms=call.ttft_ms(),
        duration_ms=call.duration_ms(),
        status=call.status,
        outcome=call.outcome,
    )


class UsageStage:
    name = "usage"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def before(self, call: Call) -> None:
        return None

    async def after(self, call: Call) -> None:
        record = usage_record(call)
        await asyncio.to_thread(self._write, record)

    def _write(self, record: UsageRecord) -> None:
        with self.sessions() as session:
            session.add(record)
            session.commit()
