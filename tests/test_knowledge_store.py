"""The embedded tier end to end (SQLite FTS5 + numpy vectors): ingestion, idempotence, replacement and
deletion, the scope partition, full-text matching, filters and the per-document cap.

The dense side here is the deterministic hashing embedder; the real encoder has its own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from souverain.errors import Conflict, InvalidRequest, NotFound
from souverain.knowledge.embedder import HashingEmbedder
from souverain.knowledge.index_sqlite import SqliteIndex
from souverain.knowledge.ingest import IngestConfig
from souverain.knowledge.search import RetrievalConfig, query_terms
from souverain.knowledge.service import KnowledgeService
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification
from tests.knowledge_fixtures import CARTE, NAISSANCE, PAGES, PERMIS, SECTIONED, page, scope, service_over

TENANT = "ville"
READER = scope(TENANT)


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def service(tmp_path: Path, embedder: HashingEmbedder) -> Iterator[KnowledgeService]:
    with service_over(f"sqlite:///{tmp_path / 'kb.db'}", embedder) as knowledge:
        knowledge.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        yield knowledge


def ids(service: KnowledgeService, query: str, **request: object) -> list[str]:
    hits = service.search(READER, SearchRequest(query=query, collections=("aides",), **request))  # type: ignore[arg-type]
    return [hit.document_id for hit in hits]


def fts_rows(service: KnowledgeService) -> int:
    with service.database.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM knowledge_fts")).scalar_one())


def test_ingest_then_search_returns_the_page_with_its_fields(service: KnowledgeService) -> None:
    report = service.ingest(TENANT, "aides", PAGES)
    assert (report.added, report.updated, report.unchanged, report.deleted) == (3, 0, 0, 0)
    assert report.chunks >= 3
    hits = service.search(READER, SearchRequest(query="renouvellement du permis de conduire", collections=()))
    top = hits[0]
    assert (top.document_id, top.collection, top.title) == (
        "F1460",
        "aides",
        "Permis de conduire : renouvellement",
    )
    assert top.chunk_id == "F1460#0"
    assert top.url == "https://example.test/F1460"
    assert top.metadata == {"theme": "Transports"}
    assert "ANTS" in top.text
    assert top.score > 0
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_reingesting_unchanged_pages_does_nothing(
    service: KnowledgeService, embedder: HashingEmbedder
) -> None:
    service.ingest(TENANT, "aides", PAGES)
    encoded, rows = embedder.calls, fts_rows(service)
    report = service.ingest(TENANT, "aides", PAGES)
    assert (report.added, report.updated, report.unchanged, report.chunks) == (0, 0, 3, 0)
    assert embedder.calls == encoded  # nothing was embedded again
    assert fts_rows(service) == rows


def test_a_changed_page_is_replaced_whole(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    changed = page("F1460", "Permis de conduire", "Le permis s'échange désormais en préfecture uniquement.")
    report = service.ingest(TENANT, "aides", [changed, CARTE])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    assert "F1460" in ids(service, "préfecture")
    hit = next(
        h for h in service.search(READER, SearchRequest("permis", ("aides",))) if h.document_id == "F1460"
    )
    assert "ANTS" not in hit.text
    assert hit.title == "Permis de conduire"
    assert fts_rows(service) == 3  # one row of terms per document


def test_delete_removes_the_page_and_its_index_entries(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    before = fts_rows(service)
    service.delete_document(TENANT, "aides", "F1961")
    assert "F1961" not in ids(service, "déclaration de naissance mairie")
    assert fts_rows(service) == before - 1
    with pytest.raises(NotFound):
        service.delete_document(TENANT, "aides", "F1961")


def test_prune_deletes_pages_absent_from_the_new_source(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    report = service.ingest(TENANT, "aides", [CARTE], prune=True)
    assert (report.unchanged, report.deleted) == (1, 2)
    assert set(ids(service, "permis naissance carte")) == {"F1341"}


def test_a_repeated_id_keeps_the_first_version_and_a_rerun_embeds_nothing(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    first = page("X1", "Version", "ancienne rédaction du texte")
    filler = [page(f"P{n}", "Page", f"texte numéro {n}") for n in range(3)]
    last = page("X1", "Version", "nouvelle rédaction du texte")
    source = [first, *filler, last]  # batches of two: the repeat comes in another batch than the first
    with service_over(
        f"sqlite:///{tmp_path / 'kb.db'}", embedder, ingestion=IngestConfig(batch_documents=2)
    ) as service:
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        report = service.ingest(TENANT, "aides", source)
        assert (report.added, report.duplicates, report.examples["duplicates"]) == (4, 1, ["X1"])
        found = service.search(READER, SearchRequest("rédaction", ("aides",)))
        assert [hit.text for hit in found if "rédaction" in hit.text] == ["ancienne rédaction du texte"]
        calls = embedder.calls
        again = service.ingest(TENANT, "aides", source)
        assert (again.added, again.updated, again.unchanged, again.duplicates) == (0, 0, 4, 1)
        assert embedder.calls == calls


def test_a_page_without_text_is_counted_and_not_stored(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", [page("E1", "Avant", "le texte du formulaire cerfa")])
    assert ids(service, "formulaire cerfa") == ["E1"]
    report = service.ingest(
        TENANT, "aides", [page("E1", "Avant", "# Seulement un titre"), page("E2", "", "")]
    )
    assert (report.added, report.updated, report.empty, report.deleted) == (0, 0, 2, 1)
    assert report.examples["empty"] == ["E1", "E2"]
    assert ids(service, "formulaire cerfa") == []  # what the page said before is gone with it
    assert fts_rows(service) == 0


def test_deleting_a_collection_removes_its_pages_and_a_new_one_under_the_name_starts_empty(
    service: KnowledgeService,
) -> None:
    service.ingest(TENANT, "aides", PAGES)
    assert "F1460" in ids(service, "permis de conduire")  # vectors cached at this revision
    old = service.collection(TENANT, "aides")
    service.delete_collection(READER, "aides")
    assert fts_rows(service) == 0
    with service.database.engine.connect() as connection:
        for table in ("knowledge_documents", "knowledge_chunks"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
    with pytest.raises(NotFound):
        ids(service, "permis")
    with pytest.raises(NotFound):
        service.delete_collection(READER, "aides")
    service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
    new = service.collection(TENANT, "aides")
    assert new.id == old.id  # SQLite gives the freed id again: the cached vectors must not be reused
    service.ingest(TENANT, "aides", [CARTE])
    assert service.collection(TENANT, "aides").revision == old.revision
    assert set(ids(service, "permis de conduire carte")) == {"F1341"}


def test_a_collection_out_of_scope_cannot_be_deleted(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    for outsider in (scope("autre-ville"), scope(TENANT, use_case="urbanisme")):
        with pytest.raises(NotFound):
            service.delete_collection(outsider, "aides")
    assert "F1460" in ids(service, "permis de conduire")


def test_full_text_folds_accents_and_stems(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    index = service.index
    assert isinstance(index, SqliteIndex)
    collection = service.collection(READER, "aides")
    with service.database.engine.connect() as connection:
        for spelling in (["demarch"], ["DÉMARCHES"], ["déclarations"]):
            terms = service.retriever.analyzer.analyze_query(" ".join(spelling))
            found = index.lexical(connection, [collection], terms, {}, 10)
            assert found, spelling
        # the tokenizer folds accents too, whatever the terms it is given
        plain = index.lexical(connection, [collection], ["etrang"], {}, 10)
        accented = index.lexical(connection, [collection], ["étrang"], {}, 10)
        assert plain == accented
        assert len(plain) == 1


def test_titles_are_indexed_only_when_the_collection_says_so(tmp_path: Path) -> None:
    titled = page("T1", "Allocation rentrée scolaire", "Versée en août aux familles.")
    with service_over(f"sqlite:///{tmp_path / 't.db'}") as service:
        service.create_collection(TENANT, "with", Classification.PUBLIC, ["guichet"])
        service.create_collection(TENANT, "without", Classification.PUBLIC, ["guichet"], index_titles=False)
        service.ingest(TENANT, "with", [titled])
        service.ingest(TENANT, "without", [titled])
        index = service.index
        with service.database.engine.connect() as connection:
            for name, expected in (("with", 1), ("without", 0)):
                collection = service.collection(TENANT, name)
                assert len(index.lexical(connection, [collection], ["scolair"], {}, 10)) == expected


def test_filters_restrict_both_sides(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    assert set(ids(service, "mairie carte permis naissance", filters={"theme": "Famille"})) == {"F1961"}
    assert ids(service, "mairie", filters={"theme": "Inconnu"}) == []
    with pytest.raises(InvalidRequest):
        ids(service, "mairie", filters={"theme') OR 1=1 --": "x"})


def test_at_most_two_chunks_of_one_page(tmp_path: Path) -> None:
    sections = "\n\n".join(f"# Cas {n}\n\nLa taxe foncière du cas {n} se paie en ligne." for n in range(8))
    long_page = page("LONG", "Taxe foncière", sections)
    with service_over(f"sqlite:///{tmp_path / 'c.db'}", retrieval=RetrievalConfig(per_document=2)) as service:
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        service.ingest(TENANT, "aides", [long_page, *PAGES])
        hits = service.search(READER, SearchRequest("taxe foncière en ligne", ("aides",), k=5))
        assert [hit.document_id for hit in hits].count("LONG") == 2
        assert len({hit.chunk_id for hit in hits}) == len(hits)


def test_vectors_are_cached_until_the_collection_changes(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", [CARTE, PERMIS])
    index = service.index
    assert isinstance(index, SqliteIndex)
    ids(service, "carte")
    ids(service, "permis")
    assert index.vectors.loads == 1
    service.ingest(TENANT, "aides", [NAISSANCE])
    assert "F1961" in ids(service, "naissance")
    assert index.vectors.loads == 2


def test_request_checks(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", PAGES)
    for request in (
        SearchRequest("  ", ()),
        SearchRequest("carte", (), k=0),
        SearchRequest("carte", (), k=101),
    ):
        with pytest.raises(InvalidRequest):
            service.search(READER, request)
    with pytest.raises(Conflict):
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
    with pytest.raises(InvalidRequest):
        service.create_collection(TENANT, "bad name!", Classification.PUBLIC)


def test_the_passage_chosen_is_the_one_about_the_question(service: KnowledgeService) -> None:
    sections = [
        "# Conditions\n\nLe demandeur doit résider en France depuis plus de trois mois.",
        "# Montant\n\nLe montant mensuel dépend des ressources du foyer.",
        "# Recours\n\nEn cas de refus, un recours gracieux est adressé à la caisse dans les deux mois.",
        "# Pièces\n\nUn justificatif de domicile et une pièce d'identité sont demandés.",
        "# Versement\n\nL'aide est versée le cinq de chaque mois sur le compte bancaire.",
    ]
    service.ingest(TENANT, "aides", [page("AIDE", "Aide au logement", "\n\n".join(sections)), PERMIS])
    [first, second] = service.search(READER, SearchRequest("recours après un refus", ("aides",), k=2))
    assert (first.document_id, first.section) == ("AIDE", "Recours")
    assert second.score == pytest.approx(first.score / 2, rel=1e-3)  # a second passage counts half


def test_a_passage_can_bring_the_rest_of_its_section(service: KnowledgeService) -> None:
    service.ingest(TENANT, "aides", [SECTIONED, PERMIS])

    def best(context_chars: int) -> str:
        request = SearchRequest("montant majeure lieu déposée", ("aides",), k=1, context_chars=context_chars)
        [hit] = service.search(READER, request)
        assert (hit.document_id, hit.section) == ("F34752", "Pour un adulte")
        return hit.text

    assert "86 euros" not in best(0)  # the section's opening line alone
    whole = best(1000)
    assert whole.startswith("Le montant du passeport")
    assert "En métropole\nEn métropole, le passeport d'un adulte coûte 86 euros" in whole  # with its heading
    assert "À l'étranger\nÀ l'étranger, le passeport d'un adulte coûte 96 euros" in whole
    assert "42 euros" not in whole  # the next section is another section
    first = best(150)  # the budget stops at the chunk that no longer fits
    assert "86 euros" in first
    assert "96 euros" not in first
    with pytest.raises(InvalidRequest):
        service.search(READER, SearchRequest("passeport", ("aides",), context_chars=-1))


def test_stop_words_of_any_language_are_not_searched(service: KnowledgeService) -> None:
    analyzer = service.retriever.analyzer
    assert query_terms(analyzer, "Qu'est-ce que la médiation familiale ?") == [
        "mediat",
        "mediation",
        "familial",
    ]
    assert "die" not in query_terms(analyzer, "Wie beantrage ich die Sozialhilfe?")


def test_the_content_hash_ignores_the_order_of_metadata_keys_at_any_depth() -> None:
    one = page("H1", "Titre", "Un texte.", source={"dataset": "vdd", "version": 1}, theme="Social")
    other = page("H1", "Titre", "Un texte.", theme="Social", source={"version": 1, "dataset": "vdd"})
    assert one.content_hash() == other.content_hash()
    assert one.content_hash() != page("H1", "Titre", "Un texte.", source={"version": 2}).content_hash()


def test_the_content_hash_of_a_flat_page_is_the_one_stored_by_earlier_releases() -> None:
    # a changed hash re-embeds every stored document on the next ingestion (the demo's 4,873 pages)
    flat = page("H1", "Titre", "# Section\n\nUn texte.", theme="Social", audience="particuliers")
    assert flat.content_hash() == "1c1de90b337f1c98c578daf809a457c91dbaebe4bcd1644a85f734e19adbd138"
