"""The detector on multilingual sentences, hard negatives, overlap resolution and its failure modes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from souverain.errors import DetectionError
from souverain.privacy import Detector, Entity, EntityType


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def found(detector: Detector, text: str, language: str | None = None) -> set[tuple[str, EntityType]]:
    return {(e.value(text), e.type) for e in detector.analyze(text, language)}


def test_french_message(detector: Detector) -> None:
    text = (
        "Bonjour, je m'appelle Marie Schmit, matricule 1893 1201 05732, IBAN LU28 0019 4006 4475 0000, "
        "tél. +352 621 123 456, marie.schmit@example.lu, j'habite 12, rue de la Gare, L-1611 Luxembourg."
    )
    assert found(detector, text, "fr") == {
        ("Marie Schmit", EntityType.PERSON),
        ("1893 1201 05732", EntityType.LU_MATRICULE),
        ("LU28 0019 4006 4475 0000", EntityType.IBAN),
        ("+352 621 123 456", EntityType.PHONE),
        ("marie.schmit@example.lu", EntityType.EMAIL),
        ("12, rue de la Gare, L-1611 Luxembourg", EntityType.ADDRESS),
    }


def test_german_message(detector: Detector) -> None:
    text = (
        "Sehr geehrte Frau Müller, mein Name ist Thomas Becker, geboren am 12.03.1985, wohnhaft "
        "Hauptstraße 5, 54290 Trier. Steuer-IdNr 36 574 261 809. Mein Kennzeichen ist TR-AB 123."
    )
    assert found(detector, text, "de") == {
        ("Müller", EntityType.PERSON),
        ("Thomas Becker", EntityType.PERSON),
        ("12.03.1985", EntityType.DATE_OF_BIRTH),
        ("Hauptstraße 5, 54290 Trier", EntityType.ADDRESS),
        ("36 574 261 809", EntityType.DE_TAX_ID),
        ("TR-AB 123", EntityType.LICENSE_PLATE),
    }


def test_english_message(detector: Detector) -> None:
    text = (
        "My name is John Smith, date of birth 3 March 1985, card 4111 1111 1111 1111, "
        "server 192.168.10.25 and 2001:db8::1, phone 06 12 34 56 78."
    )
    assert found(detector, text, "en") == {
        ("John Smith", EntityType.PERSON),
        ("3 March 1985", EntityType.DATE_OF_BIRTH),
        ("4111 1111 1111 1111", EntityType.CREDIT_CARD),
        ("192.168.10.25", EntityType.IP_ADDRESS),
        ("2001:db8::1", EntityType.IP_ADDRESS),
        ("06 12 34 56 78", EntityType.PHONE),
    }


def test_luxembourgish_message(detector: Detector) -> None:
    text = (
        "Moien, ech heeschen Jang Weber, gebuer den 4. Mäerz 1990, meng Nummer ass 621 123 456. "
        "Mäin Auto huet d'Plack AB 1234."
    )
    assert found(detector, text, "lb") == {
        ("Jang Weber", EntityType.PERSON),
        ("4. Mäerz 1990", EntityType.DATE_OF_BIRTH),
        ("621 123 456", EntityType.PHONE),
        ("AB 1234", EntityType.LICENSE_PLATE),
    }


def test_signature_after_closing_formula(detector: Detector) -> None:
    text = "Merci de traiter ma demande.\nCordialement,\nJean-Paul Hoffmann"
    assert ("Jean-Paul Hoffmann", EntityType.PERSON) in found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Le montant de 1 250,00 EUR est dû pour le 15/03/2024 conformément à l'article 12 de la loi du "
        "8 mars 2017 (dossier n° 2024/1234, formulaire F-123). Le Ministère de la Santé et la commune de "
        "Differdange ont été informés.",
        "Die Gebühr von 45,50 EUR ist bis zum 01.04.2024 zu zahlen (Aktenzeichen 12 O 345/23, § 15 Abs. 2 "
        "des Gesetzes vom 8. März 2017). Das Ministerium für Familie und die Gemeinde Esch-sur-Alzette "
        "wurden informiert.",
        "The fee of EUR 1,250.00 is due on 15 March 2024 under article 12 of the law of 8 March 2017 "
        "(form 2024-118, case 2023/5567).",
        "Madame la Ministre a signé le règlement grand-ducal du 14 juin 2023, publié au Mémorial A n° 345.",
    ],
)
def test_hard_negatives_stay_untouched(detector: Detector, text: str) -> None:
    assert detector.analyze(text) == []


def test_invalid_check_digits_are_not_reported(detector: Detector) -> None:
    text = "Matricule 1893 1201 05733 et IBAN LU28 0019 4006 4475 0001."
    assert {e.type for e in detector.analyze(text)}.isdisjoint(
        {EntityType.LU_MATRICULE, EntityType.IBAN, EntityType.CREDIT_CARD}
    )


def test_dates_and_plates_need_context(detector: Detector) -> None:
    text = "Le rendez-vous du 12.03.1985 concerne le formulaire AB 1234."
    assert detector.analyze(text) == []


class Fixed:
    """A recognizer returning fixed candidates."""

    def __init__(self, *entities: Entity) -> None:
        self.entities = entities

    def find(self, text: str, language: str | None) -> Iterator[Entity]:
        yield from self.entities


def test_overlaps_resolved_by_score_then_length_then_specificity() -> None:
    text = "x" * 40
    detector = Detector(
        [
            Fixed(Entity(0, 10, EntityType.PHONE, 0.8), Entity(5, 15, EntityType.LU_MATRICULE, 0.99)),
            Fixed(Entity(20, 25, EntityType.PERSON, 0.9), Entity(20, 30, EntityType.ADDRESS, 0.9)),
            Fixed(Entity(32, 38, EntityType.PERSON, 0.85), Entity(32, 38, EntityType.DE_TAX_ID, 0.85)),
        ]
    )
    assert detector.analyze(text) == [
        Entity(5, 15, EntityType.LU_MATRICULE, 0.99),
        Entity(20, 30, EntityType.ADDRESS, 0.9),
        Entity(32, 38, EntityType.DE_TAX_ID, 0.85),
    ]


def test_overlapping_spans_of_one_type_are_merged() -> None:
    detector = Detector(
        [Fixed(Entity(0, 4, EntityType.PERSON, 0.7)), Fixed(Entity(2, 9, EntityType.PERSON, 0.9))]
    )
    assert detector.analyze("Jean Dupont") == [Entity(0, 9, EntityType.PERSON, 0.9)]


class Slow:
    def find(self, text: str, language: str | None) -> list[Entity]:
        time.sleep(0.05)
        return []


class Broken:
    def find(self, text: str, language: str | None) -> list[Entity]:
        raise RuntimeError("model file corrupted")


def test_time_budget_exceeded_raises_detection_error() -> None:
    detector = Detector([Slow(), Slow()], deadline_s=0.01)
    with pytest.raises(DetectionError) as caught:
        detector.analyze("Jean Dupont")
    assert caught.value.code == "pii_detection_timeout"
    assert caught.value.status_code == 503


def test_per_call_budget_overrides_the_default() -> None:
    detector = Detector([Slow()], deadline_s=0.01)
    assert detector.analyze("texte", deadline_s=5.0) == []


def test_recognizer_failure_raises_detection_error() -> None:
    with pytest.raises(DetectionError) as caught:
        Detector([Fixed(), Broken()]).analyze("Jean Dupont")
    assert caught.value.code == "pii_detection_failed"


def test_entities_carry_no_value() -> None:
    entity = Entity(0, 4, EntityType.PERSON, 0.9)
    assert entity.to_dict() == {"start": 0, "end": 4, "type": "PERSON", "score": 0.9}
    assert not hasattr(entity, "text")
    with pytest.raises(ValueError, match="invalid span"):
        Entity(4, 4, EntityType.PERSON, 0.9)


def test_concurrent_calls_give_the_sequential_results(detector: Detector) -> None:
    texts = [
        f"Monsieur Paul Wagner, matricule 1893120105732, tél. 621 123 45{i}, paul{i}@example.lu"
        for i in range(8)
    ]
    expected = [detector.analyze(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(detector.analyze, texts)) == expected
