"""HTML pages to blocks with BeautifulSoup (stdlib parser): headings, paragraphs, whole lists and tables.

Navigation, footers, scripts and styles are dropped; when the page has a ``<main>``, only it is read.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag
from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers.blocks import clean_inline, first_heading, list_line, make_block, table_line
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import Block, BlockKind, SourceDocument

_DROPPED = {"script", "style", "nav", "footer", "noscript", "template", "svg", "iframe", "button", "form"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_LISTS = {"ul", "ol"}
_INLINE = {
    "a", "abbr", "b", "bdi", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q", "s", "samp",
    "small", "span", "strong", "sub", "sup", "time", "u", "var", "label", "del", "ins", "font",
}  # fmt: skip
_NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)


def parse_html_file(source: FileSource) -> SourceDocument:
    """An HTML file as a document; title from ``<title>``, else the first ``<h1>``, else the file name."""
    soup = BeautifulSoup(source.read_text(), "html.parser")
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    _separate_blocks(soup)
    root = soup.find("main") or soup.body or soup
    try:
        blocks = html_blocks(root)
    except RecursionError as exc:
        raise InvalidRequest(f"{source.relative}: HTML nested too deeply to read") from exc
    title_tag = soup.find("title")
    title = clean_inline(title_tag.get_text()) if title_tag else ""
    return source.document(title or first_heading(blocks, 1) or source.fallback_title(), blocks, _lang(soup))


def _separate_blocks(soup: BeautifulSoup) -> None:
    """End every non-inline element with a space so that text extraction never glues two blocks together,
    while inline markup inside a word (``Personal<b>ausweis</b>``) is read as written."""
    for tag in soup.find_all(True):
        if tag.name not in _INLINE:
            tag.append(" ")


def html_blocks(root: Tag) -> list[Block]:
    """The blocks under ``root``, in reading order."""
    blocks: list[Block] = []
    loose: list[str] = []
    _walk(root, blocks, loose)
    _flush(loose, blocks)
    return blocks


def _walk(node: Tag, blocks: list[Block], loose: list[str]) -> None:
    """Emit the blocks of ``node``'s children; text outside any block gathers in ``loose``."""
    for child in node.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, _NOT_TEXT):
                loose.append(str(child))
        elif isinstance(child, Tag):
            _visit(child, blocks, loose)


def _visit(tag: Tag, blocks: list[Block], loose: list[str]) -> None:
    """Emit one element: a block of its own, inline text, or a container walked through."""
    name = tag.name
    if name in _INLINE:
        loose.append(tag.get_text())
        return
    if name == "br":
        loose.append("\n")
        return
    _flush(loose, blocks)
    block: Block | None = None
    if name in _HEADINGS:
        block = make_block(BlockKind.HEADING, clean_inline(tag.get_text()), int(name[1]))
    elif name in _LISTS:
        block = make_block(BlockKind.LIST, "\n".join(_list_lines(tag, 0)))
    elif name == "table":
        block = make_block(BlockKind.TABLE, "\n".join(_table_rows(tag)))
    elif name in {"p", "pre"}:
        block = make_block(BlockKind.PARAGRAPH, clean_inline(tag.get_text()))
    else:
        _walk(tag, blocks, loose)
        _flush(loose, blocks)
    if block is not None:
        blocks.append(block)


def _flush(loose: list[str], blocks: list[Block]) -> None:
    """Turn gathered loose text into a paragraph."""
    block = make_block(BlockKind.PARAGRAPH, clean_inline("".join(loose)))
    loose.clear()
    if block is not None:
        blocks.append(block)


def _list_lines(tag: Tag, depth: int) -> list[str]:
    """One line per item of a ``<ul>``/``<ol>``, nested lists indented below their item."""
    lines: list[str] = []
    number = _start(tag) if tag.name == "ol" else None
    for item in tag.find_all("li", recursive=False):
        nested = [child for child in item.find_all(_LISTS) if child.find_parent("li") is item]
        for child in nested:
            child.extract()
        text = clean_inline(item.get_text())
        if text:
            lines.append(list_line(text, depth, number))
            number = None if number is None else number + 1
        for child in nested:
            lines.extend(_list_lines(child, depth + 1))
    return lines


def _start(tag: Tag) -> int:
    """The first number of an ordered list."""
    start = tag.get("start")
    return int(start) if isinstance(start, str) and start.isdigit() else 1


def _table_rows(table: Tag) -> list[str]:
    """One line per row of this table, cells separated by `` | ``.

    A table inside a cell is part of that cell's text, flattened to one line: every word is read once and
    the outer table stays one block. So a row counts only when it is not inside one of the table's cells,
    and a cell only for its nearest row, unless it is itself inside another cell.
    """
    rows = []
    for row in table.find_all("tr"):
        if _in_cell(row, table):
            continue
        cells = [
            clean_inline(cell.get_text())
            for cell in row.find_all(["th", "td"])
            if cell.find_parent(["tr", "th", "td"]) is row
        ]
        if any(cells):
            rows.append(table_line(cells))
    return rows


def _in_cell(tag: Tag, table: Tag) -> bool:
    """Whether ``tag`` lies inside a cell of ``table`` (as a nested table's row does)."""
    for parent in tag.parents:
        if parent is table:
            return False
        if parent.name in {"td", "th"}:
            return True
    return False


def _lang(soup: BeautifulSoup) -> str | None:
    """The primary language subtag of ``<html lang>``, if any."""
    html = soup.find("html")
    lang = html.get("lang") if isinstance(html, Tag) else None
    return lang.split("-")[0].strip().lower() or None if isinstance(lang, str) else None
