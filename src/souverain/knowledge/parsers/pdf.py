"""PDF files to paragraphs with pypdf: text page by page, paragraphs split on blank lines.

Text is extracted in pypdf's layout mode, which turns vertical gaps into blank lines (the plain mode
loses them, and with them every paragraph break). Lines broken inside a paragraph are joined again (a
word hyphenated across lines is mended); PDFs carry no reliable structure, so no headings are guessed.
A scanned PDF without a text layer gives no blocks.
"""

from __future__ import annotations

import re

from pypdf import PageObject, PdfReader
from pypdf.errors import PyPdfError

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers.blocks import split_paragraphs
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import Block, BlockKind, SourceDocument

_HYPHENATED = re.compile(r"(\w)-\n(?=[a-zà-ÿ])")
_MAX_TITLE = 150


def parse_pdf_file(source: FileSource) -> SourceDocument:
    """A PDF as a document; title from its metadata, else its first short line, else the file name."""
    try:
        reader = PdfReader(source.path)
        pages = [_page_text(page) for page in reader.pages]
        declared = reader.metadata.title if reader.metadata else None
    except Exception as exc:  # pypdf raises many kinds of errors on a damaged file (AttributeError too)
        raise InvalidRequest(f"{source.relative}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    blocks = [
        Block(BlockKind.PARAGRAPH, _join_lines(paragraph))
        for page in pages
        for paragraph in split_paragraphs(page)
    ]
    title = (declared or "").strip() or _first_line(blocks) or source.fallback_title()
    return source.document(title, blocks)


def _page_text(page: PageObject) -> str:
    """A page's text with paragraph gaps as blank lines; plain extraction where layout mode fails."""
    try:
        return page.extract_text(extraction_mode="layout")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError):  # odd fonts
        return page.extract_text()


def _join_lines(paragraph: str) -> str:
    """One paragraph on one line, mending words hyphenated at a line end."""
    return _HYPHENATED.sub(r"\1", paragraph).replace("\n", " ")


def _first_line(blocks: list[Block]) -> str | None:
    """The first paragraph when it is short enough to be a title."""
    if blocks and len(blocks[0].text) <= _MAX_TITLE:
        return blocks[0].text
    return None
