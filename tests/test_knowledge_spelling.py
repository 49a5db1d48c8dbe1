"""Spelling correction of query terms against the collection's own vocabulary (embedded tier; the
production tier's vocabulary is tested in test_knowledge_pg.py).

Searches here are full text only (dense weight 0), so what they find is what the corrected terms match.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from souverain.knowledge.collections import CollectionView
from souverain.knowledge.search import RetrievalConfig, query_words
from souverain.knowledge.service import KnowledgeService
from souverain.knowledge.spelling import Speller, SpellingConfig, max_edits
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification
from tests.knowledge_fixtures import PAGES, page, scope, service_over

TENANT = "ville"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
READER = scope(TENANT)
LOSS = page("F21246", "Passeport : perte", "En cas de perte du passeport, faites une déclaration de perte.")
RENEWAL = page("F21091", "Passeport : renouvellement", "Le renouvellement du passeport se demande en mairie.")
ALLOWANCE = page("F14860", "Allocation chômage", "L'allocation chômage est calculée sur le salaire.")
BENEFIT = page("F2064", "Chômage : montant", "Le montant de l'allocation chômage dépend des salaires.")
CORPUS = [*PAGES, LOSS, RENEWAL, ALLOWANCE, BENEFIT]
COLLECTION = CollectionView(1, TENANT, "aides", Classification.PUBLIC, ("guichet",), True, 1, CREATED)


def lexical(spelling: bool = True) -> RetrievalConfig:
    return RetrievalConfig.lexical_only(spelling)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kb.db'}"


@pytest.fixture
def service(database_url: str) -> Iterator[KnowledgeService]:
    with service_over(database_url, retrieval=lexical()) as knowledge:
        knowledge.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        knowledge.ingest(TENANT, "aides", CORPUS)
        yield knowledge


def ids(service: KnowledgeService, query: str, language: str | None = None) -> list[str]:
    """The pages the search's full-text side found (a dense weight of 0 scores every other page 0)."""
    request = SearchRequest(query=query, collections=("aides",), language=language)
    return [hit.document_id for hit in service.search(READER, request) if hit.score > 0]


def matched(service: KnowledgeService, terms: list[str]) -> list[int]:
    """The documents the full-text index matches for these terms, as given."""
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        return service.index.lexical(connection, [collection], terms, {}, 10)


def corrected(service: KnowledgeService, query: str) -> list[str]:
    """The query's terms after correction (each word's stems, then the correction it gained, if any)."""
    words = query_words(service.retriever.analyzer, query)
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        return service.retriever.speller.correct(connection, [collection], words)


def test_misspelt_words_find_the_pages_that_spell_them_right(service: KnowledgeService) -> None:
    assert ids(service, "pasport perte")[0] == "F21246"
    assert set(ids(service, "alocation chaumage")[:2]) == {"F14860", "F2064"}
    terms = service.retriever.analyzer.analyze_query("pasport alocation chaumage")
    assert matched(service, terms) == []  # as typed, no page holds any of these terms
    assert {"passeport", "alloc", "chomag"} <= set(corrected(service, "pasport alocation chaumage"))


def test_without_correction_the_misspelt_words_find_nothing(database_url: str) -> None:
    with service_over(database_url, retrieval=lexical(spelling=False)) as knowledge:
        knowledge.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        knowledge.ingest(TENANT, "aides", CORPUS)
        assert ids(knowledge, "pasport alocation chaumage") == []
        assert ids(knowledge, "passeport perte")[0] == "F21246"


def test_known_short_and_numeric_terms_are_left_as_they_are(service: KnowledgeService) -> None:
    assert corrected(service, "passeport perte") == ["passeport", "pert"]
    assert corrected(service, "ants cerfa 12100 12101") == ["ant", "cerf", "cerfa", "12100", "12101"]
    assert max_edits("cni", SpellingConfig()) == 0
    assert max_edits("pasport", SpellingConfig()) == 2
    assert max_edits("perdu", SpellingConfig()) == 1


def test_a_word_known_in_one_language_is_not_corrected_through_another() -> None:
    speller = Speller(lambda _connection, _collection: Counter({"situat": 5, "station": 9}))
    words = [("situation", ["situat", "situation"])]  # French and English stems; only the French is known
    assert speller.correct(None, [COLLECTION], words) == ["situat", "situation"]  # type: ignore[arg-type]


def test_a_correction_keeps_the_first_letter() -> None:
    speller = Speller(lambda _connection, _collection: Counter({"carton": 9, "pasteur": 3}))
    assert speller.correct(None, [COLLECTION], [("partons", ["parton"])]) == ["parton"]  # type: ignore[arg-type]
    assert speller.correct(None, [COLLECTION], [("pastours", ["pastour"])])[-1] == "pasteur"  # type: ignore[arg-type]


def test_a_replacement_must_be_used_by_several_pages(service: KnowledgeService) -> None:
    # "ambassade" is on one page only: a typo of it is not corrected (it could be a typo in the corpus)
    assert corrected(service, "ambasade") == ["ambasad"]


def test_a_question_in_another_language_is_not_corrected(service: KnowledgeService) -> None:
    assert ids(service, "pasport", language="en") == []
    assert set(ids(service, "pasport", language="fr")) == {"F21246", "F21091"}


def test_the_vocabulary_is_the_collections_own_and_follows_its_ingestion(
    service: KnowledgeService,
) -> None:
    service.create_collection("autre", "faune", Classification.PUBLIC, ["guichet"])
    secret = [page(f"A{n}", "Ornithorynque", "L'ornithorynque pond des oeufs.") for n in range(3)]
    service.ingest("autre", "faune", secret)
    assert corrected(service, "ornitorynque") == ["ornitorynqu"]  # another tenant's word is never offered
    loads = service.retriever.speller.loads

    service.ingest(TENANT, "aides", [page(f"B{n}", "Ornithorynque", "Ornithorynque.") for n in range(2)])
    assert "ornithorynqu" in corrected(service, "ornitorynque")
    assert service.retriever.speller.loads == loads + 1  # the new revision was read once
