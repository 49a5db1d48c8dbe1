"""Check-digit validation of national identifiers, IBANs and payment cards (pure functions, no I/O).

python-stdnum (pinned) is used where it is right: IBAN (mod 97 plus each country's length and BBAN
structure), Luxembourg VAT (mod 89), French NIR (key, Corsica 2A/2B), Belgian national number (mod 97, with
the ``2`` prefix for births from 2000) and the German tax id (ISO 7064 mod 11,10). It has no Luxembourg
matricule module, and public implementations that do often validate both check digits over twelve digits;
here both the Luhn and the Verhoeff digit are computed over the first eleven, as the national register does.
stdnum's tax-id check lacks the rule that a digit repeated three times may not be consecutive: added here.
"""

from __future__ import annotations

import re

from stdnum import iban as _iban
from stdnum import luhn, verhoeff
from stdnum.be import nn as _be_nn
from stdnum.de import idnr as _de_idnr
from stdnum.fr import nir as _fr_nir
from stdnum.lu import tva as _lu_tva

_SEPARATORS = re.compile(r"[\s.\-/]")


def compact(value: str) -> str:
    """The value without spaces, dots, dashes or slashes, upper-cased."""
    return _SEPARATORS.sub("", value).upper()


def is_lu_matricule(value: str) -> bool:
    """Luxembourg national identification number: YYYYMMDD + 3 digits + Luhn + Verhoeff over 11 digits."""
    digits = compact(value)
    if len(digits) != 13 or not digits.isdigit():
        return False
    month, day = int(digits[4:6]), int(digits[6:8])  # 00 is allowed for an unknown month or day
    if month > 12 or day > 31:
        return False
    first11 = digits[:11]
    return bool(luhn.is_valid(first11 + digits[11]) and verhoeff.is_valid(first11 + digits[12]))


def is_iban(value: str) -> bool:
    """Any country's IBAN: mod 97 plus the country's length and BBAN structure."""
    # check_country=False: a national bank-code registry lookup would hide structurally valid IBANs.
    return bool(_iban.is_valid(compact(value), check_country=False))


def is_lu_vat(value: str) -> bool:
    """Luxembourg VAT number: LU + 8 digits, the first six mod 89 equal to the last two."""
    return bool(_lu_tva.is_valid(compact(value)))


def is_fr_nir(value: str) -> bool:
    """French social-security number (NIR) with its two-digit key, Corsica 2A/2B included."""
    return bool(_fr_nir.is_valid(compact(value)))


def is_be_national_number(value: str) -> bool:
    """Belgian national number: mod 97 over the nine first digits, or over 2 + them for births from 2000."""
    return bool(_be_nn.is_valid(compact(value)))


def is_de_tax_id(value: str) -> bool:
    """German tax id (Steuer-IdNr): 11 digits, ISO 7064 mod 11,10, and the digit-repetition rule."""
    digits = compact(value)
    if not _de_idnr.is_valid(digits):
        return False
    # Since 2016 one digit may appear three times in the first ten, but never three times in a row.
    return re.search(r"(\d)\1\1", digits[:10]) is None


def _card_network_accepts(digits: str) -> bool:
    """Whether the issuer range (IIN) of the card number exists with that length."""
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16  # Mastercard
    if two in (34, 37):
        return n == 15  # American Express
    if 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39):
        return 14 <= n <= 19  # Diners Club
    if 3528 <= four <= 3589:
        return 16 <= n <= 19  # JCB
    if four in (1800, 2131):
        return n == 15  # JCB (early 15-digit ranges)
    if four == 6011 or 644 <= int(digits[:3]) <= 649 or two == 65 or 622126 <= six <= 622925:
        return 16 <= n <= 19  # Discover
    if two == 62:
        return 16 <= n <= 19  # UnionPay
    if two in (50, 56, 57, 58) or digits[0] == "6":
        return 12 <= n <= 19  # Maestro (50, 56-69), Bancontact (6703)
    return False


def is_payment_card(value: str) -> bool:
    """Payment card number: a known issuer range with its length, and the Luhn check digit."""
    digits = compact(value)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    return _card_network_accepts(digits) and bool(luhn.is_valid(digits))
