"""Structure-aware chunking: a document's blocks into passages small enough to embed and cite.

A chunk never crosses a heading, and carries its document's title and heading path (its section).
Within a section, consecutive paragraphs, lists and tables are packed together up to ``max_chars``; a list
or table is split only when it alone exceeds ``max_chars``, between items or rows (a table's header row
repeated on each part), and an overlong paragraph is split between sentences, or words as a last resort.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from souverain.errors import InvalidRequest
from souverain.knowledge.types import Block, BlockKind, Chunk, SourceDocument

MIN_CHARS = 80  # below this, chunks would hold less than a sentence
SECTION_SEPARATOR = " > "  # between the headings of a chunk's section path
_SENTENCE_END = re.compile(r"(?<=[.!?…])[ \t]+|\n+")
_Part = tuple[str, str]  # (separator from the previous part, text)


def chunk_document(doc: SourceDocument, max_chars: int = 1200) -> list[Chunk]:
    """The chunks of ``doc`` in reading order, each at most ``max_chars`` long; none for an empty one."""
    if max_chars < MIN_CHARS:
        raise InvalidRequest(f"max_chars must be at least {MIN_CHARS}")
    passages: list[tuple[str, str]] = []
    for section, body in _sections(doc.blocks):
        parts = [("\n\n", piece) for block in body for piece in _pieces(block, max_chars)]
        passages.extend((section, text) for text in _pack(parts, max_chars))
    return [
        Chunk(document_id=doc.id, ordinal=ordinal, title=doc.title, section=section, text=text)
        for ordinal, (section, text) in enumerate(passages)
    ]


def _sections(blocks: list[Block]) -> Iterator[tuple[str, list[Block]]]:
    """The non-heading blocks grouped by section, each with its heading path joined by `` > ``."""
    path: list[tuple[int, str]] = []
    body: list[Block] = []
    for block in blocks:
        if block.kind is not BlockKind.HEADING:
            body.append(block)
            continue
        if body:
            yield SECTION_SEPARATOR.join(text for _, text in path), body
            body = []
        while path and path[-1][0] >= block.level:
            path.pop()
        path.append((block.level, block.text))
    if body:
        yield SECTION_SEPARATOR.join(text for _, text in path), body


def _pieces(block: Block, max_chars: int) -> list[str]:
    """The block whole when it fits, else its parts, each at most ``max_chars``."""
    text = block.text.strip()
    if len(text) <= max_chars:
        return [text] if text else []
    if block.kind is BlockKind.LIST:
        return _split_lines(text.split("\n"), max_chars, header=None)
    if block.kind is BlockKind.TABLE:
        header, *rows = text.split("\n")
        if len(header) > max_chars // 2:  # too long to repeat: an ordinary row then
            return _split_lines([header, *rows], max_chars, header=None)
        return _split_lines(rows, max_chars, header)
    return _pack(_sentences(text, max_chars), max_chars)


def _split_lines(lines: list[str], max_chars: int, header: str | None) -> list[str]:
    """Lines (list items, table rows) packed into parts, each starting with ``header`` when given."""
    budget = max_chars - (len(header) + 1 if header else 0)
    parts: list[_Part] = []
    for line in lines:
        if len(line) <= budget:
            parts.append(("\n", line))
        else:  # an item or row too long on its own: cut between its sentences
            pieces = _sentences(line, budget)
            parts.extend([("\n", pieces[0][1]), *pieces[1:]] if pieces else [])
    packed = _pack(parts, budget)
    return [f"{header}\n{text}" for text in packed] if header else packed


def _sentences(text: str, max_chars: int) -> list[_Part]:
    """Sentences and lines of ``text`` with the separator before each; overlong ones cut between words."""
    parts: list[_Part] = []
    position = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        sentence = text[position:end].strip()
        separator = "\n" if text[position - 1 : position] == "\n" else " "
        for piece in _words(sentence, max_chars):
            parts.append((separator, piece))
            separator = " "
        position = match.end() if match else end
    return parts


def _words(sentence: str, max_chars: int) -> list[str]:
    """A sentence cut between words into pieces of at most ``max_chars`` (a longer word is cut)."""
    if len(sentence) <= max_chars:
        return [sentence] if sentence else []
    pieces: list[str] = []
    current = ""
    for word in sentence.split():
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = ""
        while len(word) > max_chars:
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        current = f"{current} {word}" if current else word
    return [*pieces, current] if current else pieces


def _pack(parts: list[_Part], max_chars: int) -> list[str]:
    """Consecutive parts joined by their separators into texts of at most ``max_chars``."""
    texts: list[str] = []
    current = ""
    for separator, text in parts:
        if not text:
            continue
        if current and len(current) + len(separator) + len(text) > max_chars:
            texts.append(current)
            current = ""
        current = f"{current}{separator}{text}" if current else text
    return [*texts, current] if current else texts
