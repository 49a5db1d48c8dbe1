"""Section context: a passage followed by the rest of its section, so that a section's opening line keeps
the details its subsections give.

Pages are chunked by heading, so a search may find a section's first chunk ("The fee depends on where you
apply.") while the figures sit in the chunks of its subsections ("In France: 86 €"). For a reader that needs
the answer itself, such as the assistant's prompt, each passage is followed by the next chunks of its
document while they stay inside its section, each introduced by its own heading, up to a character budget.
One query reads the chunks of every page found; it runs on both tiers (plain SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection, bindparam, text

from souverain.knowledge.chunking import SECTION_SEPARATOR
from souverain.knowledge.types import SearchHit


@dataclass(frozen=True)
class Located:
    """A passage and where its chunk sits: the document's primary key and the chunk's ordinal."""

    hit: SearchHit
    document_pk: int
    ordinal: int


@dataclass(frozen=True)
class _Chunk:
    ordinal: int
    section: str
    text: str


def inside(section: str, parent: str) -> bool:
    """Whether a chunk under ``section`` belongs to the section ``parent`` (itself or a subsection)."""
    return not parent or section == parent or section.startswith(parent + SECTION_SEPARATOR)


def innermost(section: str) -> str:
    """A heading path's last heading."""
    return section.rsplit(SECTION_SEPARATOR, 1)[-1].strip()


def with_section_context(connection: Connection, passages: Sequence[Located], limit: int) -> list[SearchHit]:
    """Each passage with the chunks that follow it inside its section, up to ``limit`` more characters."""
    if limit <= 0 or not passages:
        return [passage.hit for passage in passages]
    chunks = _chunks(connection, sorted({passage.document_pk for passage in passages}))
    return [_extended(passage, chunks.get(passage.document_pk, []), limit) for passage in passages]


def _extended(passage: Located, chunks: Sequence[_Chunk], limit: int) -> SearchHit:
    hit = passage.hit
    pieces: list[str] = []
    used = 0
    for chunk in chunks:
        if chunk.ordinal <= passage.ordinal:
            continue
        if not inside(chunk.section, hit.section):
            break  # the section is over
        piece = chunk.text if chunk.section == hit.section else f"{innermost(chunk.section)}\n{chunk.text}"
        if used + len(piece) + 1 > limit:
            break
        pieces.append(piece)
        used += len(piece) + 1
    return replace(hit, text="\n".join([hit.text, *pieces])) if pieces else hit


def _chunks(connection: Connection, document_pks: Sequence[int]) -> dict[int, list[_Chunk]]:
    """The chunks of these documents, in order, by document."""
    statement = text(
        "SELECT document_pk, ordinal, section, text FROM knowledge_chunks "
        "WHERE document_pk IN :pks ORDER BY document_pk, ordinal"
    ).bindparams(bindparam("pks", expanding=True))
    found: dict[int, list[_Chunk]] = {}
    for row in connection.execute(statement, {"pks": list(document_pks)}).mappings():
        found.setdefault(row["document_pk"], []).append(_Chunk(row["ordinal"], row["section"], row["text"]))
    return found
