"""The audit API: ``GET /admin/audit`` (filtered pages) and ``GET /admin/audit/export`` (JSON lines).

Both need an admin or auditor key. An export is itself audited before the first line is sent: if the
event cannot be recorded, the export is refused. That event says the export was allowed and began (the
export includes it); the filters are validated before it, so that a bad one is a 400 and no event. An
export that then fails part-way is recorded again, as an ``audit.export`` event with outcome ``error``
and the same request id, and its stream is cut rather than ended, so the client cannot take a partial
export for a complete one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Engine

from souverain.api.auth import ReaderPrincipal
from souverain.api.deps import ServicesDep
from souverain.api.params import Moment, check_window
from souverain.audit import query
from souverain.audit.query import AuditFilter
from souverain.errors import InvalidRequest
from souverain.events import Event, EventSink, emit_or_refuse
from souverain.logs import request_id_var

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/admin/audit", tags=["audit"])


class AuditPage(BaseModel):
    """One page of events; pass ``next_cursor`` as ``cursor`` for the next (null at the end)."""

    data: list[dict[str, Any]]
    next_cursor: str | None


def audit_filter(
    since: Annotated[Moment | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[Moment | None, Query(description="Up to this time (exclusive).")] = None,
    tenant: str | None = None,
    use_case: str | None = None,
    action: Annotated[str | None, Query(description="e.g. chat.completion, audit.purge.")] = None,
    outcome: Annotated[
        Literal["success", "refused", "error"] | None, Query(description="success, refused or error.")
    ] = None,
) -> AuditFilter:
    """The filter the query string asks for."""
    check_window(since, until)
    return AuditFilter(since, until, tenant, use_case, action, outcome)


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


_MAX_SEQ = 2**63 - 1  # the trail's sequence numbers are 64-bit


def _cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    # str.isdigit alone admits other scripts' digits ("١", "１") and superscripts int() cannot read
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 19 and int(cursor) <= _MAX_SEQ):
        raise InvalidRequest("The cursor is not one this API returned.", param="cursor", code="invalid_value")
    return int(cursor)


@router.get("")
async def list_events(
    services: ServicesDep,
    _: ReaderPrincipal,
    filters: FilterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> AuditPage:
    after = _cursor(cursor)
    rows = await anyio.to_thread.run_sync(query.page, services.database.engine, filters, after, limit)
    return AuditPage(data=rows, next_cursor=str(rows[-1]["seq"]) if len(rows) == limit else None)


async def _lines(
    engine: Engine, filters: AuditFilter, events: EventSink, begun: Event
) -> AsyncIterator[bytes]:
    batches = query.pages(engine, filters)
    sent = 0
    try:
        while batch := await anyio.to_thread.run_sync(next, batches, None):
            yield b"".join(orjson.dumps(row) + b"\n" for row in batch)
            sent += len(batch)
    except Exception as exc:
        details = {**begun.details, "error": type(exc).__name__, "events_sent": sent}
        failed = dataclasses.replace(begun, outcome="error", status=500, details=details)
        try:
            await events.emit(failed)
        except Exception:
            logger.exception("the failure of export request %s could not be recorded", begun.request_id)
        raise  # the stream is cut, not ended: the client sees an incomplete export


@router.get("/export")
async def export_events(
    services: ServicesDep, principal: ReaderPrincipal, filters: FilterDep
) -> StreamingResponse:
    asked = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.__dict__.items() if v}
    event = Event(
        action="audit.export",
        outcome="success",
        request_id=request_id_var.get(),
        actor=principal.key_prefix,
        details={"filters": asked},
    )
    await emit_or_refuse(services.events, event, "The audit store is unavailable; the export was refused.")
    lines = _lines(services.database.engine, filters, services.events, event)
    return StreamingResponse(lines, media_type="application/x-ndjson")
