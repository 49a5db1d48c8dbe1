"""JSON-lines files (plain or gzipped), one document per record.

A record is ``{"id", "title", "text", optional "url", "language", "metadata"}``; ``text`` is Markdown-like
(``#`` headings, ``- `` lists, ``|`` tables) and the record ``id`` is kept as the document id. Other
top-level fields holding a string, number or boolean are kept in the metadata (``metadata`` wins on a
clash), so that exports with flat fields (audience, theme, date) stay filterable; other fields are ignored.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers.markdown import parse_markdown
from souverain.knowledge.parsers.source import FileSource
from souverain.knowledge.types import SourceDocument

_FIELDS = {"id", "title", "text", "url", "language", "metadata"}
_SCALARS = (str, int, float, bool)


def parse_jsonl_file(source: FileSource) -> Iterator[SourceDocument]:
    """The documents of a ``.jsonl`` or ``.jsonl.gz`` file; ``InvalidRequest`` names a bad line."""
    try:
        with _open(source) as lines:
            yield from _documents(source, lines)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidRequest(f"{source.relative}: unreadable ({exc})") from exc


def _documents(source: FileSource, lines: Iterable[bytes]) -> Iterator[SourceDocument]:
    """One document per non-blank line. Ids may repeat (one page published for several audiences): which
    one wins is the ingester's choice, not the parser's."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = record_document(orjson.loads(line), source.language)
        except (InvalidRequest, orjson.JSONDecodeError) as exc:
            raise InvalidRequest(f"{source.relative}, line {number}: {_reason(exc)}") from exc
        yield document


def record_document(record: Any, language: str = "fr") -> SourceDocument:
    """One record as a document; ``InvalidRequest`` says which field is wrong."""
    if not isinstance(record, dict):
        raise InvalidRequest("a record must be a JSON object")
    identifier = record.get("id")
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)
    if not isinstance(identifier, str) or not identifier.strip():
        raise InvalidRequest('"id" must be a non-empty string')
    title, text = _string(record, "title"), _string(record, "text")
    url = _optional_string(record, "url")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidRequest('"metadata" must be an object')
    flat = {key: value for key, value in record.items() if key not in _FIELDS and isinstance(value, _SCALARS)}
    return SourceDocument(
        id=identifier.strip(),
        title=title.strip(),
        blocks=parse_markdown(text),
        url=url,
        language=(_optional_string(record, "language") or language).lower(),
        metadata=flat | metadata,
    )


def _open(source: FileSource) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when its name ends in ``.gz``."""
    if source.path.name.lower().endswith(".gz"):
        return gzip.open(source.path, "rb")
    return source.path.open("rb")


def _string(record: dict[str, Any], key: str) -> str:
    """A required string field."""
    value = record.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{key!r} must be a string")
    return value


def _optional_string(record: dict[str, Any], key: str) -> str | None:
    """An optional string field (absent, null or empty gives None)."""
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{key!r} must be a string or null")
    return value.strip() or None if value else None


def _reason(exc: Exception) -> str:
    """The message of our own error, or a short description of a JSON syntax error."""
    if isinstance(exc, InvalidRequest):
        return exc.message
    return f"invalid JSON ({exc})"
