"""Check-digit validation of each identifier: valid and invalid numbers, with and without separators."""

from __future__ import annotations

import pytest

from souverain.privacy import checksums
from souverain.privacy.entities import EntityType
from souverain.privacy.recognizers.identifiers import IdentifierRecognizer


@pytest.mark.parametrize(
    "value", ["1893120105732", "1893 1201 05732", "1893.12.01.057.32", "1985031200182", "2000000012368"]
)
def test_lu_matricule_valid(value: str) -> None:
    assert checksums.is_lu_matricule(value)


@pytest.mark.parametrize(
    "value",
    [
        "1893120105733",  # Verhoeff digit wrong (the DESIGN's counter-example)
        "1893120105742",  # Luhn digit wrong
        "1893130105732",  # month 13
        "189312010573",  # 12 digits
        "18931201057321",  # 14 digits
    ],
)
def test_lu_matricule_invalid(value: str) -> None:
    assert not checksums.is_lu_matricule(value)


def test_lu_matricule_check_digits_cover_eleven_digits_only() -> None:
    # Computing the Verhoeff digit over twelve digits (Luhn digit included), the common mistake, rejects
    # the register's own example.
    from stdnum import verhoeff

    assert not verhoeff.is_valid("1893120105732")
    assert checksums.is_lu_matricule("1893120105732")


@pytest.mark.parametrize(
    "value",
    [
        "LU28 0019 4006 4475 0000",
        "LU280019400644750000",
        "DE89 3704 0044 0532 0130 00",
        "FR14 2004 1010 0505 0001 3M02 606",
        "BE68 5390 0754 7034",
        "GB82-WEST-1234-5698-7654-32",
        "NL91ABNA0417164300",
    ],
)
def test_iban_valid(value: str) -> None:
    assert checksums.is_iban(value)


@pytest.mark.parametrize(
    "value",
    [
        "LU28 0019 4006 4475 0001",  # mod 97 fails
        "LU28 0019 4006 4475 000",  # wrong length for LU
        "DE89 3704 0044 0532 0130 01",
        "XX89 3704 0044 0532 0130 00",  # no such country
    ],
)
def test_iban_invalid(value: str) -> None:
    assert not checksums.is_iban(value)


@pytest.mark.parametrize(
    ("value", "valid"), [("LU15027442", True), ("LU 1502 7442", True), ("LU15027443", False)]
)
def test_lu_vat(value: str, valid: bool) -> None:
    assert checksums.is_lu_vat(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2 95 10 99 126 111 93", True),
        ("295109912611193", True),
        ("1 85 03 78 006 084 59", True),
        ("1 80 01 2A 040 010 46", True),  # Corsica
        ("1 80 01 2A 040 010 47", False),
        ("2 95 10 99 126 111 94", False),
    ],
)
def test_fr_nir(value: str, valid: bool) -> None:
    assert checksums.is_fr_nir(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("85.07.30-033.28", True),
        ("85073003328", True),
        ("00.01.01-001.05", True),  # born in 2000: the check uses 2 + the nine digits
        ("85.07.30-033.29", False),
        ("00.01.01-001.06", False),
    ],
)
def test_be_national_number(value: str, valid: bool) -> None:
    assert checksums.is_be_national_number(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("36 574 261 809", True),
        ("86095742719", True),
        ("36 574 261 808", False),  # check digit
        ("06095742719", False),  # leading zero
        ("11145678908", False),  # valid for stdnum, but a digit three times in a row
        ("12345678903", False),  # no digit repeated
    ],
)
def test_de_tax_id(value: str, valid: bool) -> None:
    assert checksums.is_de_tax_id(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("4111 1111 1111 1111", True),  # Visa
        ("5555-5555-5555-4444", True),  # Mastercard
        ("3782 822463 10005", True),  # American Express
        ("6011111111111117", True),  # Discover
        ("4111 1111 1111 1112", False),  # Luhn fails
        ("1234 5678 1234 5670", False),  # Luhn passes, no such issuer
        ("3782 8224 6310 0051", False),  # Amex prefix with a Mastercard length
    ],
)
def test_payment_card(value: str, valid: bool) -> None:
    assert checksums.is_payment_card(value) is valid


def _found(text: str) -> list[tuple[str, EntityType]]:
    return [(text[e.start : e.end], e.type) for e in IdentifierRecognizer().find(text, None)]


def test_recognizer_reports_only_numbers_passing_their_checksum() -> None:
    text = "Matricule 1893 1201 05732, pas 1893 1201 05733. IBAN LU28 0019 4006 4475 0000 BCEE."
    found = _found(text)
    assert ("1893 1201 05732", EntityType.LU_MATRICULE) in found
    assert all(value != "1893 1201 05733" for value, _ in found)
    assert ("LU28 0019 4006 4475 0000", EntityType.IBAN) in found


def test_recognizer_finds_each_type_with_separators() -> None:
    text = (
        "TVA LU 1502 7442; NIR 1 80 01 2A 040 010 46; NN 85.07.30-033.28; "
        "IdNr 36 574 261 809; carte 5555-5555-5555-4444."
    )
    types = {t for _, t in _found(text)}
    assert {
        EntityType.LU_VAT,
        EntityType.FR_NIR,
        EntityType.BE_NATIONAL_NUMBER,
        EntityType.DE_TAX_ID,
        EntityType.CREDIT_CARD,
    } <= types


def test_recognizer_ignores_a_number_glued_to_a_plus() -> None:
    # +352 followed by digits is a phone number, not the start of an identifier.
    assert _found("+3521893120105732") == []
