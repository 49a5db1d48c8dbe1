"""The vocabulary of the knowledge base: parsed documents, chunks, search requests and hits.

Parsers turn files into ``SourceDocument``s made of ``Block``s; the chunker turns blocks into ``Chunk``s
that carry their document's title and section; an index stores chunks per collection; a ``Retriever``
answers a ``SearchRequest`` within a caller's ``Scope`` (tenant, use case, classification ceiling), so
that no query reaches another tenant's collection or one above its classification.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from souverain.settings import Classification


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST = "list"  # a whole list, items one per line ("- item")
    TABLE = "table"  # a whole table, rows one per line, cells separated by " | "


@dataclass(frozen=True)
class Block:
    """One structural unit of a document, in reading order."""

    kind: BlockKind
    text: str
    level: int = 0  # heading depth (1 = top); 0 for other kinds


@dataclass
class SourceDocument:
    """A document as parsed, before chunking; ``id`` is kept as the document id in the index."""

    id: str
    title: str
    blocks: list[Block]
    url: str | None = None
    language: str = "fr"
    metadata: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """sha256 of what the index would hold: re-ingesting an unchanged document does nothing."""
        digest = hashlib.sha256()
        for part in (self.title, self.url or "", self.language, _metadata_repr(self.metadata)):
            digest.update(part.encode() + b"\x00")
        for block in self.blocks:
            digest.update(f"{block.kind}:{block.level}:{block.text}".encode() + b"\x00")
        return digest.hexdigest()


def _metadata_repr(metadata: dict[str, Any]) -> str:
    """The metadata's items in key order, nested mappings' keys too: the same metadata hashes the same
    whatever order its keys came in (flat metadata hashes as it always did)."""
    return repr(sorted((key, _key_ordered(value)) for key, value in metadata.items()))


def _key_ordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _key_ordered(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [_key_ordered(item) for item in value]
    return value


@dataclass(frozen=True)
class Chunk:
    """A passage of a document small enough to embed, with the title and section it belongs to."""

    document_id: str
    ordinal: int  # position in the document, from 0
    title: str
    section: str  # the heading path, " > "-joined; empty before the first heading
    text: str

    @property
    def chunk_id(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


@dataclass(frozen=True)
class Scope:
    """Who is searching: only collections of ``tenant``, readable by ``use_case``, at or below
    ``classification`` are ever considered."""

    tenant: str
    use_case: str | None
    classification: Classification


@dataclass(frozen=True)
class SearchRequest:
    query: str
    collections: tuple[str, ...]  # names within the scope's tenant; empty means every readable one
    k: int = 10
    filters: dict[str, str] = field(default_factory=dict)  # exact matches on document metadata
    language: str | None = None  # the query's language when known (fr, de, en, lb): weighs the two sides
    # each passage followed by the next chunks of its own section (its subsections), up to this many
    # characters: a section's opening line ("The fee depends on where you apply.") then holds its figures
    context_chars: int = 0


@dataclass(frozen=True)
class SearchHit:
    collection: str
    document_id: str
    chunk_id: str
    score: float
    title: str
    section: str
    text: str
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The hit as the search API and ``souverain search --json`` show it."""
        return {
            "document_id": self.document_id,
            "chunk_id": self.chunk_id,
            "score": self.score,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "url": self.url,
            "collection": self.collection,
        }


class Retriever(Protocol):
    """Hybrid search within a scope. Blocking (CPU and database work): call it off the event loop."""

    def search(self, scope: Scope, request: SearchRequest) -> list[SearchHit]:
        """The best ``request.k`` hits, best first; ``NotFound`` for a collection outside the scope."""
        ...
