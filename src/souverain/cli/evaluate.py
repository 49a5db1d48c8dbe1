"""``souverain eval``: retrieval metrics over a qrels file, and answer checks against a running assistant.

``eval retrieval`` searches in-process (models loaded once) and scores the document ranking of each query;
``eval answers`` asks a running server's assistant every question of a file with streaming on, over HTTP,
so that the time to first token is what a citizen would see. Both print a table and can write JSON.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from souverain.cli.common import load_settings
from souverain.cli.governance import open_database
from souverain.errors import SouverainError
from souverain.evaluation import client, report
from souverain.evaluation.answers import AnswerQuestion, AnswerScore, load_questions, percentile, score_answer
from souverain.evaluation.retrieval import Qrel, evaluate, load_qrels
from souverain.knowledge.types import Retriever, Scope, SearchRequest
from souverain.settings import Classification, Settings

app = typer.Typer(help="Evaluate retrieval and the assistant's answers.", no_args_is_help=True)

OVERFETCH = 3  # chunks asked per document ranked: several chunks of one page count once
TAGS = ("kind", "language")


def rank_queries(
    retriever: Retriever, scope: Scope, qrels: Sequence[Qrel], collection: str, k: int
) -> tuple[dict[str, list[str]], list[float]]:
    """Each query's hits' document ids (``k * OVERFETCH`` chunks), and each search's latency in seconds."""
    rankings, latencies = {}, []
    for qrel in qrels:
        language = qrel.tags.get("language")  # the question's language, when the set says it
        request = SearchRequest(
            query=qrel.query, collections=(collection,), k=k * OVERFETCH, language=language
        )
        started = time.perf_counter()
        hits = retriever.search(scope, request)
        latencies.append(time.perf_counter() - started)
        rankings[qrel.id] = [hit.document_id for hit in hits]
    return rankings, latencies


def run_retrieval(
    retriever: Retriever, scope: Scope, qrels: Sequence[Qrel], collection: str, k: int
) -> dict[str, Any]:
    """Search every query and score it; the JSON document (with search latencies)."""
    rankings, latencies = rank_queries(retriever, scope, qrels, collection, k)
    results = evaluate(qrels, rankings)
    timing = {f"search_p{q}_ms": round((percentile(latencies, q) or 0.0) * 1000, 2) for q in (50, 95)}
    return report.retrieval_document(results, TAGS, k, {"collection": collection, **timing})


@contextmanager
def open_retriever(settings: Settings) -> Iterator[Retriever]:
    """The knowledge base's hybrid retriever over the configured database, models loaded once."""
    # numpy and the encoder: only here
    from souverain.knowledge.service import build_knowledge_service, retrieval_config

    with open_database(settings) as database:
        yield build_knowledge_service(database, retrieval=retrieval_config(settings.knowledge))


@app.command("retrieval")
def retrieval(
    collection: Annotated[str, typer.Option(help="Collection to search.")],
    qrels: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help='JSON lines {"id","query","relevant"}.')
    ],
    k: Annotated[int, typer.Option(min=1, max=100, help="Documents ranked per query.")] = 10,
    tenant: Annotated[str, typer.Option(help="Tenant owning the collection.")] = "demo",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
) -> None:
    """Recall@1/5/10, success@5, MRR@10 and nDCG@10 of the collection's search over a qrels file."""
    try:
        loaded = load_qrels(qrels)
        scope = Scope(tenant=tenant, use_case=None, classification=Classification.SECRET)
        with open_retriever(load_settings()) as retriever:
            document = run_retrieval(retriever, scope, loaded, collection, k)
    except SouverainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise typer.Exit(1) from None
    print(report.retrieval_table(document["groups"]))
    print(f"search latency p50 {document['search_p50_ms']} ms, p95 {document['search_p95_ms']} ms")
    if json_out is not None:
        report.write_json(json_out, document)


def run_answers(
    http: httpx.Client, questions: Sequence[AnswerQuestion], collection: str | None
) -> list[AnswerScore]:
    """Ask every question in turn (one conversation each) and score the replies."""
    scores = []
    for question in questions:
        score = score_answer(question, client.ask(http, question, collection))
        scores.append(score)
        print(_progress_line(score), file=sys.stderr, flush=True)
    return scores


def _progress_line(score: AnswerScore) -> str:
    observed = score.observed
    if observed.error is not None:
        return f"{score.question.id}: error ({observed.error})"
    verdict = "refused" if score.refused else "answered"
    ttft = "n/a" if observed.ttft_s is None else f"{observed.ttft_s:.2f} s"
    citations = "ok" if score.citations_valid else "INVALID"
    return f"{score.question.id}: {verdict}, first token {ttft}, citations {citations}"


@app.command("answers")
def answers(
    questions: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help='JSON lines {"id","question","language",...}.')
    ],
    url: Annotated[
        str, typer.Option(help="Base URL of a running souverain server.")
    ] = "http://127.0.0.1:8000",
    key: Annotated[
        str, typer.Option(envvar="SOUVERAIN_API_KEY", help="Bearer key, if the server needs one.")
    ] = "",
    collection: Annotated[str | None, typer.Option(help="Collection (default: the server's).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
) -> None:
    """Citation validity, required facts, refusals and time to first token of the assistant's answers."""
    try:
        loaded = load_questions(questions)
    except SouverainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise typer.Exit(1) from None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(10.0, read=300.0)
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout) as http:
        scores = run_answers(http, loaded, collection)
    document = report.answers_document(scores, {"url": url, "collection": collection})
    print(report.answers_table(document["summary"]))
    if json_out is not None:
        report.write_json(json_out, document)
    if document["summary"]["errors"] == len(scores):
        raise typer.Exit(1)
