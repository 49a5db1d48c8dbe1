"""Parsers: files and folders (HTML, PDF, DOCX, Markdown, text, JSON lines) into ``SourceDocument``s.

Each format has its own module; ``parse_path`` walks a folder and dispatches on the file suffix. A file's
document id is its path relative to the root given (its name, when a single file is given); JSON-lines
records keep their own ``id``. Files skipped (unknown type, no text) are reported through ``on_skip`` or,
without it, the log; hidden files and folders are skipped quietly.
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
from souverain.knowledge.parsers.walk import SkipCallback, report_skip, suffix_of, walk_files
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
_RECORD_FILES = {".jsonl", ".jsonl.gz"}  # a record's id matters even when its text is empty


def parse_path(
    path: Path, *, language: str = "fr", on_skip: SkipCallback | None = None
) -> Iterator[SourceDocument]:
    """The documents of a file or, recursively, of a folder; ``language`` is the default for files."""
    if path.is_dir():
        for file in walk_files(path, SUFFIXES, on_skip):
            yield from _parse_file(FileSource(file, file.relative_to(path).as_posix(), language), on_skip)
    elif path.is_file():
        if suffix_of(path) not in SUFFIXES:
            raise InvalidRequest(f"{path.name}: unsupported file type (known: {', '.join(sorted(SUFFIXES))})")
        yield from _parse_file(FileSource(path, path.name, language), on_skip)
    else:
        raise InvalidRequest(f"{path}: no such file or folder")


def _parse_file(source: FileSource, on_skip: SkipCallback | None) -> Iterator[SourceDocument]:
    """Dispatch one file to the parser of its suffix; a file without any text is reported, not yielded."""
    suffix = suffix_of(source.path)
    for document in _PARSERS[suffix](source):
        if document.blocks or suffix in _RECORD_FILES:
            yield document
        else:
            hint = " (a scanned PDF needs OCR first)" if suffix == ".pdf" else ""
            report_skip(source.path, f"no text found{hint}", on_skip)
