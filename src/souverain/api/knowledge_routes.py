"""The knowledge-base endpoints (app keys): ``POST /v1/search``, ``GET/POST /v1/collections``,
``DELETE /v1/collections/{name}``, ``POST /v1/collections/{name}/documents`` and
``DELETE /v1/collections/{name}/documents/{document_id}``.

The caller's scope comes from its key: its use case's tenant, name and classification ceiling. Search and
ingestion are CPU and database work and run on a worker thread. Every operation is recorded as an event
naming the collection and the counts, never the query or the documents' text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import Field

from souverain.api.auth import AppPrincipal
from souverain.api.deps import ServicesDep
from souverain.errors import Forbidden, InvalidRequest, SouverainError
from souverain.events import Event, emit_or_refuse
from souverain.governance.principal import Principal
from souverain.knowledge.collections import CollectionView
from souverain.knowledge.ingest import IngestReport
from souverain.knowledge.parsers.jsonl import record_document
from souverain.knowledge.search import MAX_K
from souverain.knowledge.types import Scope, SearchRequest, SourceDocument
from souverain.protocol.wire import WireModel
from souverain.settings import Classification
from souverain.state import Services

router = APIRouter(prefix="/v1", tags=["knowledge"])

T = TypeVar("T")
MAX_DOCUMENTS = 1000  # per request; larger corpora go through `souverain ingest` or several requests


class SearchBody(WireModel):
    query: str = Field(min_length=1, max_length=2000, description="The question or keywords, any language.")
    collections: list[str] = Field(
        default_factory=list, description="Collections to search; empty: every one this key may read."
    )
    k: int = Field(10, ge=1, le=MAX_K, description="Number of results.")
    filters: dict[str, str] = Field(default_factory=dict, description="Exact matches on document metadata.")
    language: Literal["fr", "de", "en", "lb"] | None = Field(
        None,
        description="The query's language, when known: a question in another language than the pages' "
        "leans on the multilingual vectors.",
    )


class CollectionBody(WireModel):
    name: str = Field(description="Unique within the tenant: letters, digits, '.', '_', '-'.")
    classification: Classification = Field(
        Classification.PUBLIC, strict=False, description="At most the key's ceiling."
    )
    use_cases: list[str] | None = Field(
        None,
        description="Use cases of the tenant that may read it, this key's among them; default: this key's.",
    )
    index_titles: bool = Field(True, description="Whether page titles are searchable.")


class DocumentsBody(WireModel):
    documents: list[dict[str, Any]] = Field(
        max_length=MAX_DOCUMENTS,
        description='Records as in JSON-lines files: {"id", "title", "text", optional "url", "language", '
        '"metadata"}; "text" is Markdown-like.',
    )
    prune: bool = Field(False, description="Delete the collection's documents absent from this request.")


def scope_of(principal: Principal) -> Scope:
    """The knowledge scope of an app key: its use case's tenant, name and classification ceiling."""
    if principal.use_case is None:
        raise Forbidden("This key is not bound to a use case.", code="no_use_case")
    use_case = principal.use_case
    return Scope(
        tenant=use_case.tenant, use_case=use_case.name, classification=use_case.classification_ceiling
    )


def collection_json(collection: CollectionView) -> dict[str, Any]:
    """A collection as the API returns it."""
    return {
        "object": "collection",
        "name": collection.name,
        "classification": collection.classification.value,
        "use_cases": list(collection.use_cases),
        "index_titles": collection.index_titles,
    }


async def _recorded(
    services: Services,
    request: Request,
    principal: Principal,
    action: str,
    details: dict[str, Any],
    operation: Callable[[], T],
) -> T:
    """Run the blocking ``operation`` on a worker thread; record its outcome (success or refusal)."""
    try:
        result = await asyncio.to_thread(operation)
    except SouverainError as exc:
        await _record(services, request, principal, action, details, exc.status_code)
        raise
    if isinstance(result, list):
        details = {**details, "results": len(result)}
    elif isinstance(result, IngestReport):
        details = {**details, **_report_counts(result)}
    await _record(services, request, principal, action, details, 200)
    return result


async def _record(
    services: Services,
    request: Request,
    principal: Principal,
    action: str,
    details: dict[str, Any],
    status: int,
) -> None:
    use_case = principal.use_case
    event = Event(
        action=action,
        outcome="success" if status < 400 else ("refused" if status < 500 else "error"),
        request_id=str(request.scope.get("state", {}).get("request_id", "-")),
        actor=principal.key_prefix,
        tenant=use_case.tenant if use_case else None,
        use_case=use_case.name if use_case else None,
        purpose=use_case.purpose if use_case else None,
        status=status,
        details=details,
    )
    await emit_or_refuse(services.events, event)


def _report_counts(report: IngestReport) -> dict[str, Any]:
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "duplicates": report.duplicates,
        "empty": report.empty,
        "chunks": report.chunks,
        "seconds": report.seconds,
    }


@router.post("/search")
async def search(
    body: SearchBody, request: Request, services: ServicesDep, principal: AppPrincipal
) -> dict[str, Any]:
    scope = scope_of(principal)
    query = SearchRequest(body.query, tuple(body.collections), body.k, dict(body.filters), body.language)
    details = {"collections": body.collections, "k": body.k}
    hits = await _recorded(
        services,
        request,
        principal,
        "knowledge.search",
        details,
        lambda: services.knowledge.search(scope, query),
    )
    return {"object": "list", "data": [hit.as_json() for hit in hits]}


@router.get("/collections")
async def list_collections(services: ServicesDep, principal: AppPrincipal) -> dict[str, Any]:
    scope = scope_of(principal)
    found = await asyncio.to_thread(services.knowledge.collections, scope)
    return {"object": "list", "data": [collection_json(collection) for collection in found]}


@router.post("/collections", status_code=201)
async def create_collection(
    body: CollectionBody, request: Request, services: ServicesDep, principal: AppPrincipal
) -> dict[str, Any]:
    scope = scope_of(principal)
    readers = body.use_cases if body.use_cases is not None else [str(scope.use_case)]
    if scope.use_case not in readers:  # it could neither fill nor read what it created
        raise InvalidRequest(
            f"The readers must include this key's use case {scope.use_case!r}.",
            param="use_cases",
            code="creator_not_reader",
        )
    knowledge = services.knowledge
    created = await _recorded(
        services,
        request,
        principal,
        "knowledge.collection.create",
        {"collection": body.name, "classification": body.classification.value},
        lambda: knowledge.create_collection(
            scope, body.name, body.classification, readers, body.index_titles, registered_readers=True
        ),
    )
    return collection_json(created)


@router.post("/collections/{name}/documents")
async def ingest_documents(
    name: str, body: DocumentsBody, request: Request, services: ServicesDep, principal: AppPrincipal
) -> dict[str, Any]:
    scope = scope_of(principal)
    documents = _documents(body.documents)
    report = await _recorded(
        services,
        request,
        principal,
        "knowledge.ingest",
        {"collection": name},
        lambda: services.knowledge.ingest(scope, name, documents, prune=body.prune),
    )
    return {"object": "ingest.report", "collection": name, **_report_counts(report)}


def _documents(records: list[dict[str, Any]]) -> list[SourceDocument]:
    """The request's records as documents; a bad record or a repeated id is refused, naming its index."""
    documents: list[SourceDocument] = []
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        try:
            document = record_document(record)
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"documents[{index}]: {exc.message}", param=f"documents[{index}]", code="invalid_document"
            ) from exc
        if document.id in first:
            raise InvalidRequest(
                f"documents[{index}] repeats the id {document.id!r} of documents[{first[document.id]}].",
                param=f"documents[{index}].id",
                code="duplicate_document_id",
            )
        first[document.id] = index
        documents.append(document)
    return documents


@router.delete("/collections/{name}", status_code=204)
async def delete_collection(
    name: str, request: Request, services: ServicesDep, principal: AppPrincipal
) -> Response:
    scope = scope_of(principal)
    await _recorded(
        services,
        request,
        principal,
        "knowledge.collection.delete",
        {"collection": name},
        lambda: services.knowledge.delete_collection(scope, name),
    )
    return Response(status_code=204)


@router.delete("/collections/{name}/documents/{document_id}", status_code=204)
async def delete_document(
    name: str, document_id: str, request: Request, services: ServicesDep, principal: AppPrincipal
) -> Response:
    scope = scope_of(principal)
    await _recorded(
        services,
        request,
        principal,
        "knowledge.document.delete",
        {"collection": name, "document_id": document_id},
        lambda: services.knowledge.delete_document(scope, name, document_id),
    )
    return Response(status_code=204)
