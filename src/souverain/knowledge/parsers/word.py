"""Word documents (.docx) to blocks with python-docx: heading styles, list paragraphs, tables, in order."""

from __future__ import annotations

import re
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers.blocks import clean_inline, first_heading, list_line, make_block, table_line
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import Block, BlockKind, SourceDocument

_HEADING_STYLE = re.compile(r"heading\s*(\d)", re.IGNORECASE)


def parse_docx_file(source: FileSource) -> SourceDocument:
    """A .docx file as a document; title from its properties, else its Title paragraph or first heading."""
    try:
        document = docx.Document(str(source.path))
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        PackageNotFoundError,
        SyntaxError,
    ) as exc:  # lxml: malformed XML
        raise InvalidRequest(f"{source.relative}: not a readable DOCX file ({exc})") from exc
    blocks, title_paragraph = _blocks(list(document.iter_inner_content()))
    properties = document.core_properties
    title = (properties.title or "").strip() or title_paragraph or first_heading(blocks)
    language = (properties.language or "").split("-")[0].strip().lower() or None
    return source.document(title or source.fallback_title(), blocks, language)


def _blocks(content: list[Paragraph | Table]) -> tuple[list[Block], str | None]:
    """Blocks in reading order (consecutive list paragraphs as one list) and the Title paragraph's text."""
    blocks: list[Block | None] = []
    items: list[str] = []
    title: str | None = None
    for part in content:
        if isinstance(part, Paragraph) and _is_list_item(part):
            items.append(list_line(clean_inline(part.text), _list_depth(part)))
            continue
        blocks.append(make_block(BlockKind.LIST, "\n".join(line for line in items if line.strip() != "-")))
        items.clear()
        if isinstance(part, Table):
            blocks.append(make_block(BlockKind.TABLE, "\n".join(_table_rows(part))))
        elif _style(part) == "title":
            title = title or clean_inline(part.text) or None
        else:
            blocks.append(_paragraph_block(part))
    blocks.append(make_block(BlockKind.LIST, "\n".join(line for line in items if line.strip() != "-")))
    return [block for block in blocks if block is not None], title


def _paragraph_block(paragraph: Paragraph) -> Block | None:
    """A heading for ``Heading N`` styles, else a paragraph."""
    match = _HEADING_STYLE.fullmatch(_style(paragraph))
    if match:
        return make_block(BlockKind.HEADING, clean_inline(paragraph.text), max(1, int(match.group(1))))
    return make_block(BlockKind.PARAGRAPH, paragraph.text)


def _style(paragraph: Paragraph) -> str:
    """The paragraph's style name, lower-cased ("" when it has none)."""
    style = paragraph.style
    return (style.name or "").lower() if style is not None else ""


def _is_list_item(paragraph: Paragraph) -> bool:
    """A ``List …`` style, or direct numbering on the paragraph."""
    if _style(paragraph).startswith("list"):
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _list_depth(paragraph: Paragraph) -> int:
    """Nesting depth: from ``List Bullet 2`` style names or the numbering level."""
    digits = re.search(r"(\d)$", _style(paragraph))
    if digits:
        return max(0, int(digits.group(1)) - 1)
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    value = getattr(getattr(numbering, "ilvl", None), "val", None)  # python-docx types stop short here
    return int(value) if value is not None else 0


def _table_rows(table: Table) -> list[str]:
    """One line per row; a merged cell is read once, not once per grid column it spans."""
    rows = []
    for row in table.rows:
        cells, seen = [], []  # lxml elements compare by identity
        for cell in row.cells:
            if cell._tc not in seen:
                seen.append(cell._tc)
                cells.append(cell.text)
        if any(text.strip() for text in cells):
            rows.append(table_line(cells))
    return rows
