"""Report tables and JSON documents of evaluation results."""

from __future__ import annotations

from pathlib import Path

import orjson

from souverain.evaluation.answers import AnswerQuestion, Observed, score_answer
from souverain.evaluation.report import (
    answers_document,
    answers_table,
    retrieval_document,
    retrieval_groups,
    retrieval_table,
    text_table,
    write_json,
)
from souverain.evaluation.retrieval import Qrel, evaluate


def test_text_table_aligns_columns() -> None:
    table = text_table(["name", "value"], [["a", "1.000"], ["longer", "10"]])
    assert table.splitlines() == [
        "name    value",
        "------  -----",
        "a       1.000",
        "longer     10",
    ]


def test_retrieval_groups_table_and_document() -> None:
    qrels = [
        Qrel("1", "q1", frozenset({"A"}), {"kind": "informal", "language": "fr"}),
        Qrel("2", "q2", frozenset({"B"}), {"kind": "misspelt", "language": "fr"}),
    ]
    results = evaluate(qrels, {"1": ["A", "A", "C"], "2": ["C", "D"]})
    groups = retrieval_groups(results, ["kind", "language"])
    assert list(groups) == ["all", "kind=informal", "kind=misspelt", "language=fr"]
    assert groups["all"]["recall@1"] == 0.5
    assert groups["kind=misspelt"]["mrr@10"] == 0.0
    lines = retrieval_table(groups).splitlines()
    assert lines[0].split() == [
        "questions",
        "n",
        "recall@1",
        "recall@5",
        "recall@10",
        "success@5",
        "mrr@10",
        "ndcg@10",
    ]
    assert lines[2].split() == ["all", "2", "0.500", "0.500", "0.500", "0.500", "0.500", "0.500"]
    document = retrieval_document(results, ["kind"], k=1, extra={"collection": "demo"})
    assert document["collection"] == "demo"
    assert document["k"] == 1
    assert document["queries"][0]["ranking"] == ["A"]  # deduplicated, cut at k
    assert document["queries"][1]["kind"] == "misspelt"


def test_answers_table_and_json(tmp_path: Path) -> None:
    question = AnswerQuestion("a1", "Combien coûte un passeport ?", "fr", ("86 €",), True, {"kind": "cost"})
    reply = Observed("86 € [1].", frozenset({1}), frozenset({1}), True, False, 0.5, 1.5)
    document = answers_document([score_answer(question, reply)], {"url": "http://127.0.0.1:1"})
    table = answers_table(document["summary"])
    assert "citations valid (answers)" in table
    assert "1.000" in table
    rows = {line[:31].strip(): line[31:].strip() for line in table.splitlines()[2:]}
    assert rows["time to first token p50 (s)"] == "0.500"
    assert rows["answerable / unanswerable"] == "1 / 0"
    assert rows["questions"] == "1"
    path = tmp_path / "out" / "answers.json"
    write_json(path, document)
    loaded = orjson.loads(path.read_bytes())
    assert loaded["summary"]["facts_recall"] == 1.0
    assert loaded["replies"][0] == {
        "id": "a1",
        "language": "fr",
        "answerable": True,
        "kind": "cost",
        "refused": False,
        "refusal_correct": True,
        "citations_valid": True,
        "facts_missing": [],
        "ttft_s": 0.5,
        "total_s": 1.5,
        "error": None,
        "answer": "86 € [1].",
    }
    assert not list(tmp_path.joinpath("out").glob("*.tmp"))
