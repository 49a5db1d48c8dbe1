"""Whole pages on the dense side: each document's centroid and opening chunk, computed from the stored chunk
vectors per collection and revision, ranked within the allowed documents, and fused into search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, text

from souverain.knowledge.collections import CollectionView
from souverain.knowledge.embedder import HashingEmbedder, normalised
from souverain.knowledge.search import RetrievalConfig
from souverain.knowledge.service import KnowledgeService
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification
from tests.knowledge_fixtures import CARTE, NAISSANCE, PAGES, PERMIS, page, scope, service_over

TENANT = "ville"
READER = scope(TENANT)
# the page rankings alone decide: full text and the best-chunk ranking weigh nothing
PAGES_ONLY = RetrievalConfig(lexical_weight=0.0, dense_weight=0.0, centroid_weight=1.0, opening_weight=0.0)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[KnowledgeService]:
    with service_over(f"sqlite:///{tmp_path / 'kb.db'}", HashingEmbedder()) as knowledge:
        knowledge.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        knowledge.create_collection("autre-commune", "aides", Classification.PUBLIC, ["guichet"])
        yield knowledge


def stored(connection: Connection, collection: CollectionView) -> dict[int, list[np.ndarray]]:
    """Each document's chunk vectors as stored, in chunk order."""
    rows = connection.execute(
        text("SELECT document_pk, embedding FROM knowledge_chunks WHERE collection_id = :c ORDER BY ordinal"),
        {"c": collection.id},
    ).all()
    vectors: dict[int, list[np.ndarray]] = {}
    for document_pk, blob in rows:
        vectors.setdefault(document_pk, []).append(np.frombuffer(blob, dtype="<f4"))
    return vectors


def pk_of(connection: Connection, document_id: str, collection: CollectionView) -> int:
    statement = text("SELECT id FROM knowledge_documents WHERE document_id = :d AND collection_id = :c")
    return int(connection.execute(statement, {"d": document_id, "c": collection.id}).scalar_one())


def test_a_page_is_its_chunks_mean_and_its_opening_chunk(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        pages = service.retriever.pages.of(connection, collection)
        chunks = stored(connection, collection)
    assert sorted(pages.document_pks.tolist()) == sorted(chunks)
    assert any(len(vectors) > 1 for vectors in chunks.values())  # the mean is not the only chunk
    for row, document_pk in enumerate(pages.document_pks.tolist()):
        mean = normalised(np.mean(chunks[document_pk], axis=0, keepdims=True))[0]
        np.testing.assert_allclose(pages.centroids[row], mean, atol=1e-6)
        np.testing.assert_array_equal(pages.openings[row], chunks[document_pk][0])


def test_rankings_follow_each_view_within_the_allowed_documents(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    service.ingest("autre-commune", "aides", [page("X1", "Permis de conduire", "Permis de conduire perdu.")])
    collection = service.collection(READER, "aides")
    opening = service.embedder.encode(["Permis de conduire\nEn cas de perte du permis"])[0]
    with service.database.engine.connect() as connection:
        opening_text = connection.execute(
            text("SELECT text FROM knowledge_chunks WHERE ordinal = 0 AND document_pk = :pk"),
            {"pk": pk_of(connection, PERMIS.id, collection)},
        ).scalar_one()
        vector = service.embedder.encode([opening_text])[0]
        ranked = service.retriever.pages.rankings(connection, [collection], vector, 10)
        carte = pk_of(connection, CARTE.id, collection)
        only_carte = service.retriever.pages.rankings(
            connection, [collection], opening, 10, np.array([carte])
        )
        permis = pk_of(connection, PERMIS.id, collection)
    assert ranked.by_opening[0] == permis  # its own opening chunk is nearest
    assert len(ranked.by_centroid) == len(ranked.by_opening) == 3  # the other tenant's page is not there
    assert only_carte.by_centroid == only_carte.by_opening == [carte]


def test_page_vectors_are_recomputed_when_the_collection_changes(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", [CARTE, PERMIS])
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        assert len(service.retriever.pages.of(connection, collection).document_pks) == 2
        service.retriever.pages.of(connection, collection)
    assert service.retriever.pages.loads == 1
    service.ingest(TENANT, "aides", [NAISSANCE])
    collection = service.collection(READER, "aides")  # the new revision
    with service.database.engine.connect() as connection:
        assert len(service.retriever.pages.of(connection, collection).document_pks) == 3
    assert service.retriever.pages.loads == 2


def test_search_fuses_the_page_rankings(tmp_path: Path) -> None:
    with service_over(f"sqlite:///{tmp_path / 'p.db'}", HashingEmbedder(), PAGES_ONLY) as service:
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        service.ingest(TENANT, "aides", PAGES)
        query = "déclarer une naissance à la mairie"
        collection = service.collection(READER, "aides")
        with service.database.engine.connect() as connection:
            vector = service.embedder.encode([query])[0]
            by_centroid = service.retriever.pages.rankings(connection, [collection], vector, 10).by_centroid
            names: dict[int, str] = dict(
                connection.execute(text("SELECT id, document_id FROM knowledge_documents")).all()
            )
        hits = service.search(READER, SearchRequest(query, ("aides",), k=3, filters={}))
        assert list(dict.fromkeys(hit.document_id for hit in hits)) == [names[pk] for pk in by_centroid]
        only = service.search(READER, SearchRequest(query, ("aides",), k=3, filters={"theme": "Papiers"}))
        assert {hit.document_id for hit in only} == {CARTE.id}


def test_page_views_weigh_less_for_a_question_in_another_language() -> None:
    config = RetrievalConfig()
    assert config.page_weights_for("fr") == config.page_weights_for(None) == (0.25, 0.25)
    assert config.page_weights_for("de") == (config.foreign_page_weight, config.foreign_page_weight)
    assert config.foreign_page_weight < config.centroid_weight
    assert RetrievalConfig.lexical_only().page_weights_for("en") == (0.0, 0.0)


def test_a_question_in_another_language_ranks_no_page_vectors(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    service.search(READER, SearchRequest("Wie melde ich eine Geburt an?", ("aides",), language="de"))
    assert service.retriever.pages.loads == 0  # the page views weigh nothing for German: not even computed
    service.search(READER, SearchRequest("déclarer une naissance", ("aides",), language="fr"))
    assert service.retriever.pages.loads == 1
