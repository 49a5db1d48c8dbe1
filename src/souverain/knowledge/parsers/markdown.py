"""Markdown (CommonMark plus tables) to blocks, with markdown-it-py; also the text of JSON-lines records."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from souverain.knowledge.parsers.blocks import clean_lines, first_heading, list_line, make_block, table_line
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import Block, BlockKind, SourceDocument

_PARSER = MarkdownIt("commonmark", {"html": False}).enable("table")
_LIST_OPEN = {"bullet_list_open", "ordered_list_open"}
_LIST_CLOSE = {"bullet_list_close", "ordered_list_close"}


def parse_markdown(text: str) -> list[Block]:
    """The blocks of a Markdown text: headings, paragraphs, whole lists and whole tables."""
    tokens = _PARSER.parse(text)
    blocks: list[Block] = []
    index = 0
    while index < len(tokens):
        block, index = _block_at(tokens, index)
        if block is not None:
            blocks.append(block)
    return blocks


def parse_markdown_file(source: FileSource) -> SourceDocument:
    """A Markdown file as a document; its title is the first top-level heading, else the file name."""
    blocks = parse_markdown(source.read_text())
    return source.document(first_heading(blocks, 1) or source.fallback_title(), blocks)


def _block_at(tokens: list[Token], index: int) -> tuple[Block | None, int]:
    """The block starting at ``tokens[index]`` and the index after it."""
    token = tokens[index]
    if token.type == "heading_open":
        level = int(token.tag[1:])
        return make_block(BlockKind.HEADING, _inline(tokens[index + 1]), level), index + 3
    if token.type == "paragraph_open":
        return make_block(BlockKind.PARAGRAPH, _inline(tokens[index + 1])), index + 3
    if token.type in _LIST_OPEN:
        end = _closing(tokens, index)
        return make_block(BlockKind.LIST, "\n".join(_list_lines(tokens[index : end + 1]))), end + 1
    if token.type == "table_open":
        end = _closing(tokens, index)
        return make_block(BlockKind.TABLE, "\n".join(_table_rows(tokens[index:end]))), end + 1
    if token.type in {"fence", "code_block"}:
        return make_block(BlockKind.PARAGRAPH, clean_lines(token.content)), index + 1
    return None, index + 1


def _closing(tokens: list[Token], index: int) -> int:
    """Index of the token closing the one opened at ``index``."""
    depth = 0
    for position in range(index, len(tokens)):
        depth += tokens[position].nesting
        if depth == 0:
            return position
    return len(tokens) - 1


def _inline(token: Token) -> str:
    """Plain text of an inline token: markup dropped, link and image text kept, line breaks kept."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in {"text", "code_inline", "html_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline(child))
    return clean_lines("".join(parts))


def _list_lines(tokens: list[Token]) -> list[str]:
    """One line per list item, nested items indented; an item's paragraphs joined on one line."""
    lines: list[str] = []
    numbers: list[int | None] = []  # per open list: the next item number, None for bullets
    items: list[int] = []  # per open item: its index in ``lines``
    for index, token in enumerate(tokens):
        if token.type in _LIST_OPEN:
            numbers.append(int(token.attrGet("start") or 1) if token.type == "ordered_list_open" else None)
        elif token.type in _LIST_CLOSE:
            numbers.pop()
        elif token.type == "list_item_open":
            items.append(len(lines))
            lines.append(list_line("", len(numbers) - 1, numbers[-1]).rstrip())
            numbers[-1] = None if numbers[-1] is None else numbers[-1] + 1
        elif token.type == "list_item_close":
            items.pop()
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open" and items:
            lines[items[-1]] += " " + _inline(token).replace("\n", " ")
    return [line for line in lines if " " in line.strip()]  # items without text dropped


def _table_rows(tokens: list[Token]) -> list[str]:
    """One line per table row, header row first."""
    rows: list[list[str]] = []
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(_inline(token))
    return [table_line(row) for row in rows if any(row)]
