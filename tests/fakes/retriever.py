"""An in-memory ``Retriever`` for assistant tests: passages per tenant and collection, word-overlap scores.

It keeps the rules the real index keeps (only the scope's tenant, only collections at or below the scope's
classification, ``NotFound`` for a collection the scope cannot read) and records every search it answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from souverain.errors import NotFound
from souverain.governance.classification import rank
from souverain.knowledge.types import Scope, SearchHit, SearchRequest
from souverain.settings import Classification

_WORD = re.compile(r"\w{4,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


@dataclass
class FakeCollection:
    tenant: str
    name: str
    classification: Classification = Classification.PUBLIC
    hits: list[SearchHit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hits = list(self.hits)  # a test may change its collection's hits: never a shared module list


class FakeRetriever:
    """Scores each passage by the number of query words (4 letters or more) it shares, best first."""

    def __init__(self, collections: list[FakeCollection]) -> None:
        self.collections = collections
        self.searches: list[tuple[Scope, SearchRequest]] = []

    def search(self, scope: Scope, request: SearchRequest) -> list[SearchHit]:
        self.searches.append((scope, request))
        readable = [
            c
            for c in self.collections
            if c.tenant == scope.tenant and rank(c.classification) <= rank(scope.classification)
        ]
        if request.collections:
            names = {c.name for c in readable}
            for wanted in request.collections:
                if wanted not in names:
                    raise NotFound(f"No collection named {wanted!r}.", code="collection_not_found")
            readable = [c for c in readable if c.name in request.collections]
        query = _words(request.query)
        scored = []
        for collection in readable:
            for hit in collection.hits:
                overlap = len(query & _words(f"{hit.title} {hit.section} {hit.text}"))
                if overlap:
                    scored.append((overlap, hit))
        scored.sort(key=lambda pair: -pair[0])
        return [_with_score(hit, overlap) for overlap, hit in scored[: request.k]]


def _with_score(hit: SearchHit, overlap: int) -> SearchHit:
    return SearchHit(
        collection=hit.collection,
        document_id=hit.document_id,
        chunk_id=hit.chunk_id,
        score=float(overlap),
        title=hit.title,
        section=hit.section,
        text=hit.text,
        url=hit.url,
        metadata=hit.metadata,
    )


def passage(collection: str, document_id: str, title: str, text: str, section: str = "") -> SearchHit:
    """A passage of a page on service-public.fr (score set at search time)."""
    return SearchHit(
        collection=collection,
        document_id=document_id,
        chunk_id=f"{document_id}#0",
        score=0.0,
        title=title,
        section=section,
        text=text,
        url=f"https://www.service-public.fr/particuliers/vosdroits/{document_id}",
    )
