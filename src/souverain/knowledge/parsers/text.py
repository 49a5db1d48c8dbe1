"""Plain text files: paragraphs separated by blank lines."""

from __future__ import annotations

from souverain.knowledge.parsers.blocks import split_paragraphs
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import Block, BlockKind, SourceDocument


def parse_text_file(source: FileSource) -> SourceDocument:
    """A text file as a document of paragraphs, titled after the file name."""
    blocks = [Block(BlockKind.PARAGRAPH, paragraph) for paragraph in split_paragraphs(source.read_text())]
    return source.document(source.fallback_title(), blocks)
