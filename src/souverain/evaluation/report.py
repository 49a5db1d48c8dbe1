"""Evaluation results as a plain-text table for the terminal and as JSON documents for files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from souverain.evaluation.answers import AnswerScore, summarise
from souverain.evaluation.retrieval import METRICS, QueryResult, breakdown, mean_scores

ANSWER_ROWS = (
    ("questions", "questions"),
    ("answerable / unanswerable", None),
    ("errors", "errors"),
    ("citations valid (answers)", "citations_valid_rate"),
    ("required facts present", "facts_recall"),
    ("all required facts present", "facts_complete_rate"),
    ("correct refusals (unanswerable)", "correct_refusal_rate"),
    ("false refusals (answerable)", "false_refusal_rate"),
    ("hand-over offered", "handover_offered_rate"),
    ("time to first token p50 (s)", "ttft_p50_s"),
    ("time to first token p95 (s)", "ttft_p95_s"),
    ("whole reply p50 (s)", "total_p50_s"),
)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, the first left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        return "  ".join([first, *(str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def number(value: float | int | None, digits: int = 3) -> str:
    """A figure for a table; ``n/a`` when missing."""
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def retrieval_groups(results: Sequence[QueryResult], tags: Sequence[str]) -> dict[str, dict[str, float]]:
    """Mean scores over all questions, then per value of each tag (``"kind=informal"``)."""
    groups = {"all": mean_scores(results)}
    for tag in tags:
        groups.update({f"{tag}={value}": scores for value, scores in breakdown(results, tag).items()})
    return groups


def retrieval_table(groups: dict[str, dict[str, float]]) -> str:
    """One row per group of questions, one column per metric."""
    rows = [[name, str(int(s["queries"])), *(number(s[m]) for m in METRICS)] for name, s in groups.items()]
    return text_table(["questions", "n", *METRICS], rows)


def retrieval_document(
    results: Sequence[QueryResult], tags: Sequence[str], k: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON form: groups of mean scores, then each question's top-k documents and scores."""
    queries = [
        {
            "id": r.qrel.id,
            "query": r.qrel.query,
            "relevant": sorted(r.qrel.relevant),
            "ranking": r.ranking[:k],
            "scores": r.scores,
            **r.qrel.tags,
        }
        for r in results
    ]
    return {**(extra or {}), "k": k, "groups": retrieval_groups(results, tags), "queries": queries}


def answers_table(summary: dict[str, Any]) -> str:
    """One row per figure of ``summarise``."""
    rows = []
    for label, key in ANSWER_ROWS:
        value = (
            f"{summary['answerable']} / {summary['unanswerable']}" if key is None else number(summary[key])
        )
        rows.append([label, value])
    return text_table(["answers", "value"], rows)


def answers_document(scores: Sequence[AnswerScore], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON form: the summary, then each question's verdicts and reply."""
    replies = [
        {
            "id": s.question.id,
            "language": s.question.language,
            "answerable": s.question.answerable,
            **s.question.tags,
            "refused": s.refused,
            "refusal_correct": s.refusal_correct,
            "citations_valid": s.citations_valid,
            "facts_missing": list(s.facts_missing),
            "ttft_s": s.observed.ttft_s,
            "total_s": s.observed.total_s,
            "error": s.observed.error,
            "answer": s.observed.answer,
        }
        for s in scores
    ]
    return {**(extra or {}), "summary": summarise(scores), "replies": replies}


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as indented JSON, through a temporary file so that a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    partial.replace(path)
