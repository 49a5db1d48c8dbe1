"""Country names in a question, in the assistant's four languages, from the Unicode CLDR through Babel."""

from __future__ import annotations

from souverain.assistant.places import country_names, places


def _said(question: str) -> list[tuple[str, str]]:
    return [(place.code, place.said) for place in places(question)]


def test_countries_are_found_in_each_language_longest_name_first() -> None:
    assert _said("Wie hoch ist das Kindergeld in Deutschland?") == [("DE", "Deutschland")]
    assert _said("Moving to the United Kingdom from Spain") == [("GB", "United Kingdom"), ("ES", "Spain")]
    assert _said("Wéi vill kascht e Pass zu Lëtzebuerg?") == [("LU", "Lëtzebuerg")]
    assert _said("Vacances en Espagne puis en Belgique et encore en Espagne") == [
        ("ES", "Espagne"),
        ("BE", "Belgique"),
    ]
    assert _said("Die Steuern Österreichs") == [("AT", "Österreichs")]  # German genitive


def test_only_capitalised_whole_words_count_and_home_is_left_out() -> None:
    assert _said("I bought a turkey and a jersey") == []
    assert _said("Wie lange ist ein Reisepass in Frankreich gültig?") == []  # home: France
    assert [p.code for p in places("Reisepass in Frankreich", home=frozenset())] == ["FR"]
    assert _said("Mein Sohn hat seinen Ausweis im Ausland verloren") == []
    assert _said("Who won the 2022 football World Cup?") == []  # "World" is a region, not a country


def test_a_country_carries_its_names_in_every_language() -> None:
    names = country_names("DE")
    assert {"allemagne", "deutschland", "germany", "daitschland"} <= set(names)
    assert country_names("EU") == ()  # a union, not a country
