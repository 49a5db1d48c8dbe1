"""Citations checked against the retrieved sources, in whole answers and in streams; retrieval confidence."""

from __future__ import annotations

from souverain.assistant.answer_stream import AnswerFilter
from souverain.assistant.citations import check, numbers, repeats, substance
from souverain.assistant.confidence import RetrievalConfidence
from tests.fakes.retriever import passage

SOURCES = [
    passage("c", "F1234", "Carte d'identité", "a"),
    passage("c", "F5678", "Passeport", "b"),
]


def test_numbers_found_in_every_form() -> None:
    assert numbers("A [1]. B [2, 1]. C [Source 2]. D [1][2]. E [2020 est une année]") == [1, 2, 1, 2, 1, 2]


def test_valid_citations_map_to_their_sources() -> None:
    checked = check("Déclarez la perte [1]. Demandez un passeport [2]. Rappel [1].", SOURCES)
    assert checked.text == "Déclarez la perte [1]. Demandez un passeport [2]. Rappel [1]."
    assert [(c.n, c.document_id, c.chunk_id) for c in checked.citations] == [
        (1, "F1234", "F1234#0"),
        (2, "F5678", "F5678#0"),
    ]
    assert checked.citations[0].url == "https://www.service-public.fr/particuliers/vosdroits/F1234"
    assert checked.citations[1].title == "Passeport"
    assert checked.dropped == 0
    assert checked.cited


def test_invalid_citations_are_removed_from_the_text() -> None:
    checked = check("Allez en mairie [3]. Déclarez la perte [1, 7]. Voir [Source 2] et [0].", SOURCES)
    assert checked.text == "Allez en mairie. Déclarez la perte [1]. Voir [2] et."
    assert [c.n for c in checked.citations] == [1, 2]
    assert checked.dropped == 3


def test_an_answer_without_a_valid_citation_is_not_cited() -> None:
    assert not check("Allez en mairie [4].", SOURCES).cited
    assert not check("Allez en mairie.", SOURCES).cited
    assert not check("Allez en mairie [1].", []).cited


def _stream(deltas: list[str], hold: bool = False) -> tuple[str, AnswerFilter]:
    answer = AnswerFilter(len(SOURCES), hold_until_cited=hold)
    shown = "".join(answer.feed(d) for d in deltas) + answer.flush()
    return shown, answer


def test_a_stream_rewrites_citations_split_across_deltas() -> None:
    shown, answer = _stream(["Déclarez la perte ", "[", "1", "]. Voir [", "9", "] et [Sou", "rce 2]."])
    assert shown == "Déclarez la perte [1]. Voir et [2]."
    assert answer.text == shown
    assert answer.dropped == 1
    assert not answer.refused


def test_a_stream_never_shows_the_refusal_marker() -> None:
    shown, answer = _stream(["NO_", "ANS", "WER"])
    assert shown == ""
    assert answer.refused
    shown, answer = _stream(["Je ne sais pas. No_Answer"])
    assert "answer" not in shown.casefold()
    assert answer.refused


def test_holding_until_cited_shows_nothing_of_an_uncited_answer() -> None:
    shown, answer = _stream(["Allez ", "en mairie ", "[5]."], hold=True)
    assert shown == ""
    assert answer.text == "Allez en mairie."
    shown, _ = _stream(["Déclarez ", "la perte ", "[1]. Puis ", "attendez."], hold=True)
    assert shown == "Déclarez la perte [1]. Puis attendez."


def test_confidence_thresholds_decide_sources_and_refusal() -> None:
    hits = [
        passage("c", "F1", "A", "a"),
        passage("c", "F2", "B", "b"),
        passage("c", "F3", "C", "c"),
    ]
    scored = [type(h)(**{**h.__dict__, "score": s}) for h, s in zip(hits, [0.9, 0.5, 0.1], strict=True)]
    lenient = RetrievalConfidence()
    assert [h.document_id for h in lenient.sources(scored, 2)] == ["F1", "F2"]
    assert not lenient.is_low(scored)
    assert lenient.is_low([])
    strict = RetrievalConfidence(min_top_score=0.95, min_score=0.4)
    assert [h.document_id for h in strict.sources(scored, 5)] == ["F1", "F2"]
    assert strict.is_low(strict.sources(scored, 5))
    assert RetrievalConfidence(min_hits=3).is_low(scored[:2])


def test_substance_counts_what_an_answer_says_beyond_citations_and_titles() -> None:
    assert substance("[1] Carte d'identité\n[2] Passeport [1]", SOURCES) == 0
    assert substance("Déclarez la perte [1].", SOURCES) == len("Déclarezlaperte")
    assert substance("86 € [1]", SOURCES) == 2
    with_sections = [passage("c", "F1", "Passeport", "a", section="Mineur > À l'étranger > Coût")]
    assert substance("[1] Coût\n[1] À l'étranger\n[1] Passeport", with_sections) == 0


def test_repeats_counts_the_most_repeated_sentence() -> None:
    assert repeats("Er muss gehen [1]. Er muss  gehen. er muss gehen [2]! Danach nicht.") == 3
    assert repeats("Déclarez la perte [1]. Demandez un passeport [2].") == 1
    assert repeats("Oui. Oui. Oui.") == 0  # too short to be a sentence worth counting


def test_a_page_found_through_several_passages_is_one_source() -> None:
    hits = [
        passage("c", "F1", "Carte", "Déclarez la perte.", section="Perte"),
        passage("c", "F2", "Passeport", "Allez en mairie."),
        passage("c", "F1", "Carte", "Demandez un laissez-passer.", section="À l'étranger"),
        passage("d", "F1", "Autre collection", "Même identifiant, autre page."),
    ]
    sources = RetrievalConfidence().sources(hits, 3)
    assert [(h.collection, h.document_id) for h in sources] == [("c", "F1"), ("c", "F2"), ("d", "F1")]
    assert sources[0].text == "Déclarez la perte.\n…\nÀ l'étranger\nDemandez un laissez-passer."
    assert sources[0].section == "Perte"
    assert [h.document_id for h in RetrievalConfidence().sources(hits, 1)] == ["F1"]
