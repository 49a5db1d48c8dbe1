"""The partition of the knowledge base: a query never reaches another tenant's collection, one its use case
may not read, or one above its classification ceiling, and such a collection looks exactly like a missing
one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from souverain.errors import InvalidRequest, NotFound
from souverain.knowledge.service import KnowledgeService
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification
from tests.knowledge_fixtures import page, scope, service_over

SHARED_WORDS = "allocation logement demande caisse"
ALPHA = page("A-1", "Alpha", f"Page de la commune Alpha : {SHARED_WORDS}.")
BETA = page("B-1", "Beta", f"Page de la commune Beta : {SHARED_WORDS}.")
SECRET = page("S-1", "Dossier", f"Note confidentielle : {SHARED_WORDS}.")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[KnowledgeService]:
    with service_over(f"sqlite:///{tmp_path / 'kb.db'}") as knowledge:
        # the same collection name in two tenants
        knowledge.create_collection("alpha", "aides", Classification.PUBLIC, ["guichet"])
        knowledge.create_collection("beta", "aides", Classification.PUBLIC, ["guichet"])
        knowledge.create_collection("alpha", "notes", Classification.CONFIDENTIAL, ["guichet"])
        knowledge.create_collection("alpha", "interne", Classification.PUBLIC, ["agents"])
        knowledge.ingest("alpha", "aides", [ALPHA])
        knowledge.ingest("beta", "aides", [BETA])
        knowledge.ingest("alpha", "notes", [SECRET])
        knowledge.ingest("alpha", "interne", [page("I-1", "Interne", f"Procédure interne : {SHARED_WORDS}.")])
        yield knowledge


def found(service: KnowledgeService, who: str, *names: str, **kwargs: str) -> set[str]:
    hits = service.search(scope(who, **kwargs), SearchRequest(SHARED_WORDS, tuple(names), k=20))
    return {hit.document_id for hit in hits}


def test_a_tenant_sees_only_its_own_collection_of_that_name(service: KnowledgeService) -> None:
    assert found(service, "alpha", "aides") == {"A-1"}
    assert found(service, "beta", "aides") == {"B-1"}


def test_no_collection_named_means_every_readable_one_of_the_tenant_only(service: KnowledgeService) -> None:
    assert found(service, "beta") == {"B-1"}
    assert found(service, "alpha") == {"A-1"}  # notes is confidential, interne is for another use case
    assert found(service, "alpha", ceiling="confidential") == {"A-1", "S-1"}
    assert found(service, "alpha", use_case="agents") == {"I-1"}
    assert found(service, "gamma") == set()


def refusal(service: KnowledgeService, who: str, name: str, **kwargs: str) -> NotFound:
    with pytest.raises(NotFound) as caught:
        service.search(scope(who, **kwargs), SearchRequest(SHARED_WORDS, (name,)))
    return caught.value


def test_out_of_scope_collections_are_indistinguishable_from_missing_ones(service: KnowledgeService) -> None:
    missing = refusal(service, "beta", "nowhere")
    for refused in (
        refusal(service, "beta", "notes", ceiling="secret"),  # another tenant's, even with a high ceiling
        refusal(service, "alpha", "notes", ceiling="internal"),  # above the ceiling
        refusal(service, "alpha", "interne"),  # not readable by this use case
    ):
        assert type(refused) is type(missing)
        assert refused.code == missing.code
        assert refused.message.replace(repr("notes"), "X").replace(
            repr("interne"), "X"
        ) == missing.message.replace(repr("nowhere"), "X")


def test_a_collection_out_of_scope_spoils_the_whole_request(service: KnowledgeService) -> None:
    with pytest.raises(NotFound):
        service.search(scope("alpha"), SearchRequest(SHARED_WORDS, ("aides", "notes")))


def test_writes_are_partitioned_too(service: KnowledgeService) -> None:
    with pytest.raises(NotFound):
        service.ingest(scope("beta"), "notes", [BETA])
    with pytest.raises(NotFound):
        service.delete_document(scope("beta"), "aides", "A-1")
    with pytest.raises(NotFound):
        service.delete_document(scope("alpha", ceiling="public"), "notes", "S-1")
    assert found(service, "alpha", "aides") == {"A-1"}


def test_listing_shows_only_readable_collections(service: KnowledgeService) -> None:
    assert [c.name for c in service.collections(scope("alpha"))] == ["aides"]
    assert [c.name for c in service.collections(scope("alpha", ceiling="secret"))] == ["aides", "notes"]
    assert [c.name for c in service.collections(scope("alpha", use_case=None, ceiling="secret"))] == [
        "aides",
        "interne",
        "notes",
    ]


def test_a_collection_cannot_be_created_above_the_creators_ceiling(service: KnowledgeService) -> None:
    with pytest.raises(InvalidRequest):
        service.create_collection(
            scope("alpha", ceiling="internal"), "haut", Classification.SECRET, ["guichet"]
        )
