"""Parsers: files and folders (HTML, PDF, DOCX, Markdown, text, JSON lines) into ``SourceDocument``s.

Each format has its own module; ``parse_path`` walks a folder and dispatches on the file suffix. A file's
document id is its path relative to the root given (its name, when a single file is given); JSON-lines
records keep their own ``id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers.html import parse_html_file
from souverain.knowledge.parsers.jsonl import parse_jsonl_file
from souverain.knowledge.parsers.markdown import parse_markdown, parse_markdown_file
from souverain.knowledge.parsers.pdf import parse_pdf_file
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.parsers.text import parse_text_file
from souverain.knowledge.parsers.walk import SkipCallback, suffix_of, walk_files
from souverain.knowledge.parsers.word import parse_docx_file
from souverain.knowledge.types import SourceDocument

__all__ = ["SUFFIXES", "SkipCallback", "parse_markdown", "parse_path"]

_Parser = Callable[[FileSource], Iterator[SourceDocument]]


def _single(parse: Callable[[FileSource], SourceDocument]) -> _Parser:
    """Adapt a one-document parser to the many-documents signature JSON lines need."""

    def parse_one(source: FileSource) -> Iterator[SourceDocument]:
        yield parse(source)

    return parse_one


_PARSERS: dict[str, _Parser] = {
    ".html": _single(parse_html_file),
    ".htm": _single(parse_html_file),
    ".pdf": _single(parse_pdf_file),
    ".docx": _single(parse_docx_file),
    ".md": _single(parse_markdown_file),
    ".markdown": _single(parse_markdown_file),
    ".txt": _single(parse_text_file),
    ".jsonl": parse_jsonl_file,
    ".jsonl.gz": parse_jsonl_file,
}
SUFFIXES = frozenset(_PARSERS)


def parse_path(
    path: Path, *, language: str = "fr", on_skip: SkipCallback | None = None
) -> Iterator[SourceDocument]:
    """The documents of a file or, recursively, of a folder; ``language`` is the default for files."""
    if path.is_dir():
        for file in walk_files(path, SUFFIXES, on_skip):
            yield from _parse_file(FileSource(file, file.relative_to(path).as_posix(), language))
    elif path.is_file():
        if suffix_of(path) not in SUFFIXES:
            raise InvalidRequest(f"{path.name}: unsupported file type (known: {', '.join(sorted(SUFFIXES))})")
        yield from _parse_file(FileSource(path, path.name, language))
    else:
        raise InvalidRequest(f"{path}: no such file or folder")


def _parse_file(source: FileSource) -> Iterator[SourceDocument]:
    """Dispatch one file to the parser of its suffix."""
    return _PARSERS[suffix_of(source.path)](source)
