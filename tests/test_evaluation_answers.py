"""Answer checks on replies written by hand: facts, citations, refusals, percentiles, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from souverain.errors import InvalidRequest
from souverain.evaluation.answers import (
    AnswerQuestion,
    Observed,
    citations_valid,
    cited_numbers,
    fact_present,
    fold,
    load_questions,
    percentile,
    score_answer,
    summarise,
)


def observed(answer: str = "", sources: set[int] | None = None, **fields: object) -> Observed:
    values: dict[str, object] = {
        "answer": answer,
        "source_numbers": frozenset(sources if sources is not None else {1, 2, 3}),
        "citation_numbers": frozenset(),
        "grounded": True,
        "handover_offered": False,
        "ttft_s": 1.0,
        "total_s": 2.0,
    }
    values.update(fields)
    return Observed(**values)  # type: ignore[arg-type]


def question(answerable: bool = True, facts: tuple[str, ...] = ()) -> AnswerQuestion:
    return AnswerQuestion("q", "Combien coûte un passeport ?", "fr", facts, answerable)


def test_fold_ignores_case_accents_apostrophes_and_spacing() -> None:
    assert fold("Carte d’Identité\u00a0 PERDUE") == "carte d'identite perdue"
    assert fold("Straße – Öffnungszeiten") == "strasse - offnungszeiten"


@pytest.mark.parametrize(
    ("fact", "answer", "present"),
    [
        ("86 €", "Le timbre fiscal coûte 86€.", True),
        ("86 €", "Le timbre fiscal coûte 86\u202f€.", True),
        ("1 000 €", "jusqu'à 1000 € par an", True),
        ("15 ans", "valable 115 ans", False),  # must start on a word boundary
        ("15", "valable 150 jours", False),  # a fact ending in a digit must end on one
        ("carte d'identité", "votre Carte d’Identité est gratuite", True),
        ("passeport", "les passeports biométriques", True),  # a fact may be a stem
        ("mairie", "à la préfecture", False),
        ("15 ans|15 Jahre|15 years", "Der Reisepass ist 15 Jahre gültig.", True),
        (
            "ANTS|agence nationale des titres sécurisés",
            "sur le site de l'Agence nationale des titres sécurisés",
            True,
        ),
    ],
)
def test_required_facts(fact: str, answer: str, present: bool) -> None:
    assert fact_present(fact, answer) is present


def test_cited_numbers_in_the_answer_text() -> None:
    assert cited_numbers("Voir [1] et [2, 3][4]; pas [a] ni [ ].") == frozenset({1, 2, 3, 4})
    assert cited_numbers("See [Source 5] and [sources 6; 7].") == frozenset({5, 6, 7})
    assert cited_numbers("Aucune source.") == frozenset()


def test_citation_validity() -> None:
    assert citations_valid(observed("Il faut un timbre [1].", citation_numbers=frozenset({1})))
    assert not citations_valid(observed("Il faut un timbre [4]."))  # 4 was never retrieved
    assert not citations_valid(observed("Il faut un timbre [1].", citation_numbers=frozenset({5})))
    assert not citations_valid(observed("Il faut un timbre."))  # an answer must cite a source
    assert citations_valid(observed("Les pages ne le disent pas.", grounded=False))  # a refusal need not
    assert not citations_valid(observed("Voir [1].", error="HTTP 500: boom"))
    assert not citations_valid(observed("Voir [1].", sources=set()))


def test_refusal_verdicts() -> None:
    refusal = observed("Je ne trouve pas la réponse dans les pages.", grounded=False, handover_offered=True)
    answer = observed("Le passeport coûte 86 € [1].")
    assert score_answer(question(answerable=False), refusal).refusal_correct
    assert not score_answer(question(answerable=False), answer).refusal_correct
    assert score_answer(question(answerable=True), answer).refusal_correct
    wrongly = score_answer(question(answerable=True), refusal)
    assert wrongly.refused
    assert not wrongly.refusal_correct
    failed = score_answer(question(answerable=False), observed(error="HTTP 503: down", grounded=False))
    assert not failed.refused
    assert not failed.refusal_correct


def test_facts_found_and_missing() -> None:
    score = score_answer(
        question(facts=("86 €", "ANTS", "photo")), observed("86 € en ligne sur le site ANTS [1].")
    )
    assert score.facts_found == ("86 €", "ANTS")
    assert score.facts_missing == ("photo",)


def test_citation_markers_are_not_facts() -> None:
    score = score_answer(question(facts=("2|deux", "4|quatre")), observed("Il faut au moins 2 témoins [4]."))
    assert score.facts_found == ("2|deux",)
    assert score.facts_missing == ("4|quatre",)


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == pytest.approx(3.85)  # 3 + 0.85 x (4 - 3)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_summary_of_four_replies() -> None:
    facts = ("86 €", "photo")
    scores = [
        score_answer(question(facts=facts), observed("86 € et une photo [1].", ttft_s=1.0)),
        score_answer(question(facts=facts), observed("86 € [9].", ttft_s=3.0)),  # invalid citation
        score_answer(question(answerable=False), observed("Je ne sais pas.", grounded=False, ttft_s=2.0)),
        score_answer(question(answerable=False), observed("Oui [2].", ttft_s=None, total_s=4.0)),
    ]
    summary = summarise(scores)
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (4, 2, 2)
    assert summary["citations_valid_rate"] == pytest.approx(2 / 3)  # over the three non-refusals
    assert summary["facts_recall"] == pytest.approx((1 + 0.5) / 2)
    assert summary["facts_complete_rate"] == 0.5
    assert summary["correct_refusal_rate"] == 0.5
    assert summary["false_refusal_rate"] == 0.0
    assert summary["refusal_accuracy"] == 0.75
    assert summary["ttft_p50_s"] == 2.0  # the reply without any text delta has no first token
    assert summary["total_p50_s"] == 2.0


def test_load_questions(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a1", "question": "Wie lange gilt ein Reisepass?", "language": "de", '
        '"required_facts": ["10 ans|10 Jahre"], "answerable": true, "kind": "german"}\n'
        '{"id": "a2", "question": "Où en est mon dossier ?", "language": "fr", "answerable": false}\n',
        encoding="utf-8",
    )
    first, second = load_questions(path)
    assert first.language == "de"
    assert first.required_facts == ("10 ans|10 Jahre",)
    assert first.tags == {"kind": "german"}
    assert not second.answerable
    assert second.required_facts == ()
    path.write_text('{"id": "a3", "question": "q", "required_facts": []}\n', encoding="utf-8")
    with pytest.raises(InvalidRequest, match='line 1: "answerable"'):
        load_questions(path)
