"""Text analysis: folding, stop words, elisions and stemming for French, German and English."""

from __future__ import annotations

import threading

import pytest

from souverain.knowledge.analysis import analyze, analyze_query, fold


def test_fold_lowercases_and_removes_accents() -> None:
    assert fold("Été À L'ÉTRANGER, Straße, Œuvre, naïve, Führerschein") == (
        "ete a l'etranger, strasse, oeuvre, naive, fuhrerschein"
    )


def test_accented_and_unaccented_spellings_give_the_same_terms() -> None:
    assert analyze("carte d'identité à l'étranger") == analyze("CARTE D'IDENTITE A L'ETRANGER")
    assert analyze("Führerschein verlängern", "de") == analyze("fuhrerschein verlangern", "de")


def test_french_plurals_and_verb_forms_stem_together() -> None:
    assert analyze("cartes") == analyze("carte")
    assert analyze("renouveler") == analyze("renouvelle") == analyze("renouvelé")
    assert analyze("déclarations") == analyze("déclaration")
    assert analyze("perdu") == analyze("perdue")
    assert analyze("démarches administratives") == analyze("démarche administrative")


def test_french_elisions_and_stop_words_are_removed() -> None:
    assert analyze("l'enfant") == analyze("enfant")
    assert analyze("d’identité") == analyze("identité")  # typographic apostrophe
    assert analyze("qu'il, jusqu'à lorsqu'on") == []
    assert analyze("Mon fils a perdu sa carte d'identité") == [
        *analyze("fils perdu"),
        *analyze("carte identité"),
    ]


def test_terms_keep_order_and_repeats() -> None:
    terms = analyze("carte, cartes et encore une carte")
    assert terms == ["cart", "cart", "encor", "cart"]


def test_german_inflections_stem_together() -> None:
    assert analyze("Personalausweis", "de") == analyze("Personalausweises", "de")
    assert analyze("Anträge Anträgen Antrages", "de") == analyze("Antrag Antrag Antrag", "de")
    assert analyze("Reisepässe Ausweisen", "de") == analyze("Reisepass Ausweis", "de")  # umlaut folded first
    assert analyze("der die das und Ausweis", "de") == analyze("Ausweis", "de")


def test_english_stemming_and_stop_words() -> None:
    assert analyze("My son lost his identity cards", "en") == analyze("son lost identity card", "en")
    assert analyze("renewing renewal renews", "en") == analyze("renew renew renew", "en")


@pytest.mark.parametrize("code", ["lb", "de-LU", "DE", "de_DE"])
def test_luxembourgish_and_regional_codes_use_german(code: str) -> None:
    assert analyze("Personalausweises und", code) == analyze("Personalausweis", "de")


def test_language_without_stemmer_is_only_folded() -> None:
    assert analyze("Carte d'Identità", "it") == ["carte", "d", "identita"]


def test_query_is_the_union_of_french_german_and_english_terms() -> None:
    terms = analyze_query("perte Personalausweises lost cards")
    for language in ("fr", "de", "en"):
        assert set(analyze("perte Personalausweises lost cards", language)) <= set(terms)
    assert len(terms) == len(set(terms))
    assert {"card", "personalausweis", "pert"} <= set(terms)


def test_query_terms_match_document_terms_across_accents() -> None:
    document_terms = set(analyze("Renouvellement de la carte d'identité à l'étranger", "fr"))
    assert set(analyze_query("renouvelement carte identite etranger")) & document_terms >= {
        "cart",
        *analyze("identite etranger"),
    }


def test_numbers_and_codes_are_kept() -> None:
    assert analyze("formulaire cerfa 12100*02 pour 2024") == ["formulair", "cerf", "12100", "02", "2024"]
    assert analyze("mot_de_passe") == ["mot", "pass"]


def test_concurrent_threads_get_consistent_results() -> None:
    texts = [f"Les cartes d'identité numéro {n} sont renouvelées" for n in range(200)]
    expected = [analyze(text) for text in texts]
    results: dict[int, list[list[str]]] = {}

    def work(slot: int) -> None:
        results[slot] = [analyze(text) for text in texts]

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())
    assert len(results) == 4
