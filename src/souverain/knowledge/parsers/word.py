"""Word documents (.docx) to blocks with python-docx: heading styles, list paragraphs, tables, in order."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.oxml.simpletypes import ST_Merge
from docx.oxml.text.paragraph import CT_P
from docx.table import Table
from docx.text.paragraph import Paragraph

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers.blocks import clean_inline, first_heading, list_line, make_block, table_line
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import Block, BlockKind, SourceDocument

_HEADING_STYLE = re.compile(r"heading\s*(\d)", re.IGNORECASE)

# Far above a genuine document (a 300-page report: a few MB of XML, tens of thousands of paragraphs and table
# cells), far below what takes minutes or gigabytes to read. python-docx holds every part in memory and parses
# the XML ones into trees several times their size; zipfile never inflates a member beyond its declared size,
# so checking the declared sizes refuses a zip bomb before anything is inflated.
_MAX_XML_PART_BYTES = 50 * 1024 * 1024
_MAX_PACKAGE_BYTES = 500 * 1024 * 1024
_MAX_BODY_ELEMENTS = 200_000  # paragraphs and table cells, even empty ones: about 25 µs each to read

_StyleNames = dict[str | None, str]  # paragraph style id (None: no style) -> lower-cased style name


def parse_docx_file(source: FileSource) -> SourceDocument:
    """A .docx file as a document; title from its properties, else its Title paragraph or first heading."""
    try:
        _check_sizes(source)
        document = docx.Document(str(source.path))
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        PackageNotFoundError,
        SyntaxError,
    ) as exc:  # lxml: malformed XML
        raise InvalidRequest(f"{source.relative}: not a readable DOCX file ({exc})") from exc
    _check_length(source, document)
    blocks, title_paragraph = _blocks(list(_inner_content(document)), _style_names(document))
    properties = document.core_properties
    title = (properties.title or "").strip() or title_paragraph or first_heading(blocks)
    language = (properties.language or "").split("-")[0].strip().lower() or None
    return source.document(title or source.fallback_title(), blocks, language)


def _check_sizes(source: FileSource) -> None:
    """Refuse a package whose parts would be unreasonably large once inflated, before anything is inflated."""
    with zipfile.ZipFile(source.path) as archive:
        members = archive.infolist()
    total = sum(member.file_size for member in members)
    xml = max((m.file_size for m in members if m.filename.endswith((".xml", ".rels"))), default=0)
    if total > _MAX_PACKAGE_BYTES or xml > _MAX_XML_PART_BYTES:
        raise InvalidRequest(
            f"{source.relative}: DOCX file too large once uncompressed ({total} bytes, largest XML part"
            f" {xml}; at most {_MAX_PACKAGE_BYTES} and {_MAX_XML_PART_BYTES})"
        )


def _check_length(source: FileSource, document: DocxDocument) -> None:
    """Refuse a body with more paragraphs and table cells than a genuine document has (lxml counts fast)."""
    count = int(document.element.body.xpath("count(.//w:p | .//w:tc)"))
    if count > _MAX_BODY_ELEMENTS:
        raise InvalidRequest(
            f"{source.relative}: DOCX file too long to read ({count} paragraphs and table cells;"
            f" at most {_MAX_BODY_ELEMENTS})"
        )


def _inner_content(document: DocxDocument) -> Iterator[Paragraph | Table]:
    """The body's paragraphs and tables in order.

    Not python-docx's ``iter_inner_content``: it selects them with an XPath union, which libxml2 sorts in
    quadratic time when tables come between paragraphs (1.5 s for 40,000 paragraphs among 150 tables).
    """
    for element in document.element.body.iterchildren(qn("w:p"), qn("w:tbl")):
        yield Paragraph(element, document) if isinstance(element, CT_P) else Table(element, document)


def _style_names(document: DocxDocument) -> _StyleNames:
    """Paragraph style names (lower-cased) by style id; ``None`` maps to the default style.

    Read once per document: python-docx's ``Paragraph.style`` scans every style of the document on each call,
    about a millisecond per paragraph (minutes for a long document).
    """
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    names: _StyleNames = {None: (default.name or "").lower() if default is not None else ""}
    for style in document.styles:
        if style.type == WD_STYLE_TYPE.PARAGRAPH:
            names.setdefault(style.style_id, (style.name or "").lower())  # the first wins, as in python-docx
    return names


def _blocks(content: list[Paragraph | Table], styles: _StyleNames) -> tuple[list[Block], str | None]:
    """Blocks in reading order (consecutive list paragraphs as one list) and the Title paragraph's text."""
    blocks: list[Block | None] = []
    items: list[str] = []
    title: str | None = None
    for part in content:
        style = styles.get(part._p.style, styles[None]) if isinstance(part, Paragraph) else ""
        if isinstance(part, Paragraph) and _is_list_item(part, style):
            items.append(list_line(clean_inline(part.text), _list_depth(part, style)))
            continue
        blocks.append(make_block(BlockKind.LIST, "\n".join(line for line in items if line.strip() != "-")))
        items.clear()
        if isinstance(part, Table):
            blocks.append(make_block(BlockKind.TABLE, "\n".join(_table_rows(part))))
        elif style == "title":
            title = title or clean_inline(part.text) or None
        else:
            blocks.append(_paragraph_block(part, style))
    blocks.append(make_block(BlockKind.LIST, "\n".join(line for line in items if line.strip() != "-")))
    return [block for block in blocks if block is not None], title


def _paragraph_block(paragraph: Paragraph, style: str) -> Block | None:
    """A heading for ``Heading N`` styles, else a paragraph."""
    match = _HEADING_STYLE.fullmatch(style)
    if match:
        return make_block(BlockKind.HEADING, clean_inline(paragraph.text), max(1, int(match.group(1))))
    return make_block(BlockKind.PARAGRAPH, paragraph.text)


def _is_list_item(paragraph: Paragraph, style: str) -> bool:
    """A ``List …`` style, or direct numbering on the paragraph."""
    if style.startswith("list"):
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _list_depth(paragraph: Paragraph, style: str) -> int:
    """Nesting depth: from ``List Bullet 2`` style names or the numbering level."""
    digits = re.search(r"(\d)$", style)
    if digits:
        return max(0, int(digits.group(1)) - 1)
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    value = getattr(getattr(numbering, "ilvl", None), "val", None)  # python-docx types stop short here
    return int(value) if value is not None else 0


def _table_rows(table: Table) -> list[str]:
    """One line per row; a merged cell is read once per row it spans, not once per grid column.

    Read from the XML: python-docx finds where a vertical merge starts by walking up one row at a time with a
    linear search each (seconds for a few hundred merged rows, and a RecursionError past a thousand).
    """
    rows = []
    merges: dict[int, str] = {}  # grid column -> text of the last cell that started there
    for tr in table._tbl.tr_lst:
        cells, column = [], tr.grid_before
        for tc in tr.tc_lst:
            if tc.vMerge == ST_Merge.CONTINUE:
                cells.append(merges.get(column, ""))
            else:
                merges[column] = "\n".join(p.text for p in tc.p_lst)
                cells.append(merges[column])
            column += tc.grid_span
        if any(text.strip() for text in cells):
            rows.append(table_line(cells))
    return rows
