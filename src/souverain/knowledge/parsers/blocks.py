"""Helpers the format parsers share: whitespace clean-up and the list/table line formats of ``Block``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from souverain.knowledge.types import Block, BlockKind

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n")


def clean_inline(text: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space."""
    return " ".join(text.split())


def clean_lines(text: str) -> str:
    """Collapse spaces within lines and drop empty lines, keeping the line structure."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text: separated by blank lines, lines inside kept."""
    paragraphs = (clean_lines(part) for part in _BLANK_LINES.split(text.replace("\r\n", "\n")))
    return [paragraph for paragraph in paragraphs if paragraph]


def list_line(text: str, depth: int = 0, number: int | None = None) -> str:
    """One item of a LIST block: ``- item`` or ``1. item``, indented two spaces per nesting level."""
    marker = "-" if number is None else f"{number}."
    return f"{'  ' * depth}{marker} {text}"


def table_line(cells: Iterable[str]) -> str:
    """One row of a TABLE block: cells separated by `` | ``."""
    return " | ".join(clean_inline(cell).replace("|", "/") for cell in cells)


def make_block(kind: BlockKind, text: str, level: int = 0) -> Block | None:
    """A block, or None when it holds no text."""
    text = text.strip()
    return Block(kind, text, level) if text else None


def first_heading(blocks: Iterable[Block], level: int | None = None) -> str | None:
    """The text of the first heading (of ``level`` when given), for a document title."""
    for block in blocks:
        if block.kind is BlockKind.HEADING and (level is None or block.level == level):
            return block.text
    return None
