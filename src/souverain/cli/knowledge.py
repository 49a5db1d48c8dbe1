"""``souverain ingest`` and ``souverain search``: fill a collection from files, and query it.

Both work on the configured database directly (migrating it first), as the tenant's operator: every
collection of ``--tenant`` is reachable, whatever its classification. Models load once per command, so
``search --jsonl`` answers a whole file of questions with one encoder.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from souverain.cli.common import load_settings
from souverain.cli.governance import open_database, say
from souverain.errors import NotFound, SouverainError
from souverain.governance import demo
from souverain.knowledge.service import (
    KnowledgeService,
    build_knowledge_service,
    owner_scope,
    retrieval_config,
)
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification

Collection = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]
Tenant = Annotated[str, typer.Option(help="Tenant owning the collection.")]


class QueryLanguage(StrEnum):
    """A query's language, as the search API takes it."""

    fr = "fr"
    de = "de"
    en = "en"
    lb = "lb"


@contextmanager
def knowledge_service() -> Iterator[KnowledgeService]:
    """The knowledge service over the configured database; a refusal is explained and exits 1."""
    settings = load_settings()
    try:
        with open_database(settings) as database:
            yield build_knowledge_service(database, retrieval=retrieval_config(settings.knowledge))
    except SouverainError as exc:
        say(f"error: {exc.message}")
        raise typer.Exit(1) from None


def ingest(
    path: Annotated[
        Path, typer.Argument(help="File or folder: HTML, PDF, DOCX, Markdown, text, JSON lines.")
    ],
    collection: Collection,
    tenant: Tenant = demo.TENANT,
    classification: Annotated[
        Classification, typer.Option(help="Classification of a new collection.")
    ] = Classification.PUBLIC,
    use_case: Annotated[
        list[str] | None,
        typer.Option("--use-case", help="Use case allowed to read a new collection (repeatable)."),
    ] = None,
    no_index_titles: Annotated[
        bool, typer.Option("--no-index-titles", help="Leave page titles out of a new collection's index.")
    ] = False,
    prune: Annotated[bool, typer.Option(help="Delete documents that are no longer in PATH.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest files into a collection (created if missing); unchanged documents are skipped."""
    from souverain.knowledge.parsers import parse_path

    with knowledge_service() as service:
        # every file is read before anything is written: a refused run leaves no collection behind
        say(f"reading {path} ...")
        documents = list(parse_path(path))
        try:
            service.collection(tenant, collection)
        except NotFound:
            readers = use_case if use_case is not None else [demo.USE_CASE]
            service.create_collection(tenant, collection, classification, readers, not no_index_titles)
            say(f"created collection {collection!r} ({classification.value}, readers: {', '.join(readers)})")
            for unknown in service.unregistered_readers(tenant, readers):
                say(f"warning: the tenant {tenant!r} has no use case {unknown!r} (yet): nothing reads for it")
        with tqdm(total=len(documents), unit="doc", desc="ingest", file=sys.stderr) as bar:
            report = service.ingest(tenant, collection, documents, bar.update, prune=prune)
    if as_json:
        print(json.dumps(report.__dict__))
        return
    print(
        f"{report.collection}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.deleted} deleted; {report.chunks} chunks in {report.seconds:.1f} s"
    )
    if report.duplicates:
        named = ", ".join(report.examples["duplicates"])
        say(f"warning: {report.duplicates} documents repeat an earlier one's id and were skipped ({named})")
    if report.empty:
        named = ", ".join(report.examples["empty"])
        say(f"warning: {report.empty} documents hold no text and were not stored ({named})")


def search(
    query: Annotated[str | None, typer.Argument(help="The question (omit with --jsonl).")] = None,
    collection: Collection = "",
    tenant: Tenant = demo.TENANT,
    k: Annotated[int, typer.Option("--k", "-k", help="Number of results.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help='Batch: read {"id", "query"} lines on stdin, write one line each.')
    ] = False,
    language: Annotated[
        QueryLanguage | None,
        typer.Option(help="The queries' language, when known (de, lb, en gain their glossary's terms)."),
    ] = None,
) -> None:
    """Hybrid search in a collection: one query, or a batch of JSON lines on standard input."""
    if jsonl == (query is not None):
        say("error: give either a query or --jsonl (queries on standard input)")
        raise typer.Exit(2)
    collections = (collection,) if collection else ()
    code = language.value if language else None
    with knowledge_service() as service:
        if query is None:
            _batch(service, tenant, collections, k, code)
            return
        hits = service.search(owner_scope(tenant), SearchRequest(query, collections, k, language=code))
    if as_json:
        print(json.dumps({"object": "list", "data": [hit.as_json() for hit in hits]}, ensure_ascii=False))
        return
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:>2}. {hit.score:.4f}  {hit.document_id}  {hit.title}")
        if hit.section:
            print(f"      {hit.section}")
        print(f"      {' '.join(hit.text.split())[:160]}")


def _batch(
    service: KnowledgeService, tenant: str, collections: tuple[str, ...], k: int, language: str | None
) -> None:
    """One output line per input line, in order, flushed as it goes."""
    scope = owner_scope(tenant)
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            identifier, query = str(item["id"]), str(item["query"])
        except (ValueError, KeyError, TypeError):
            say(f'error: line {number} is not a JSON object with "id" and "query"')
            raise typer.Exit(2) from None
        hits = service.search(scope, SearchRequest(query, collections, k, language=language))
        results = [
            {"document_id": h.document_id, "chunk_id": h.chunk_id, "score": h.score, "title": h.title}
            for h in hits
        ]
        print(json.dumps({"id": identifier, "results": results}, ensure_ascii=False), flush=True)
