"""Seeded generator of a labelled multilingual personal-data set (fr, de, en, lb) for the privacy benchmark.

Each sample is a realistic sentence with gold spans of the canonical types: identifiers generated with
valid check digits (and, unlabelled, near-misses whose check digits fail), contacts, addresses, licence
plates and dates of birth after a context word, names after our own templates; plus hard negatives
(amounts, procedure dates, case, form and law references, ministries and communes). Names come from
Faker's lists. The templates differ from those used to train the name model (``bench/privacy_train.py``).

Run ``.venv/bin/python -m bench.privacy_dataset --count 5`` to print a few samples.
"""

from __future__ import annotations

import argparse
import random
import re
import string

from faker import Faker
from stdnum import luhn, verhoeff
from stdnum.iso7064 import mod_11_10

from bench.privacy_data import Sample
from souverain.privacy import checksums

SEPARATED = re.compile(r"\{(\w+)\}")


def _sep(rng: random.Random, digits: str, groups: list[int]) -> str:
    sep = rng.choice(["", " ", " ", ".", "-"])
    if not sep:
        return digits
    out, i = [], 0
    for g in groups:
        out.append(digits[i : i + g])
        i += g
    if i < len(digits):
        out.append(digits[i:])
    return sep.join(out)


def matricule(rng: random.Random) -> str:
    base = (
        f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    return base + luhn.calc_check_digit(base) + verhoeff.calc_check_digit(base)


def iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("LU", f"{rng.randint(1, 999):03d}" + "".join(rng.choices(string.digits, k=13))),
            ("DE", "".join(rng.choices(string.digits, k=18))),
            ("BE", "".join(rng.choices(string.digits, k=12))),
            ("FR", "".join(rng.choices(string.digits, k=10)) + "".join(rng.choices(string.digits, k=13))),
        ]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def lu_vat(rng: random.Random) -> str:
    six = rng.randint(100000, 999999)
    return f"LU{six}{six % 89:02d}"


def fr_nir(rng: random.Random) -> str:
    dept = rng.choice(["75", "57", "2A", "2B", "69", "13", "54"])
    birth = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}"
    body = f"{birth}{dept}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    numeric = body.replace("2A", "19").replace("2B", "18")
    return f"{body}{97 - int(numeric) % 97:02d}"


def be_nn(rng: random.Random) -> str:
    year = rng.randint(1940, 2015)
    body = f"{year % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(1, 997):03d}"
    check = 97 - int(("2" if year >= 2000 else "") + body) % 97
    return f"{body}{check:02d}"


def de_tax_id(rng: random.Random) -> str:
    while True:
        digits = rng.sample(string.digits, 9)
        digits.insert(rng.randint(0, 9), rng.choice(digits))
        if digits[0] == "0":
            continue
        base = "".join(digits)
        number = base + mod_11_10.calc_check_digit(base)
        if checksums.is_de_tax_id(number):
            return number


def card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15)])
    body = prefix + "".join(rng.choices(string.digits, k=length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def broken(rng: random.Random, value: str) -> str:
    """The value with its last digit changed so that it no longer passes any check we know."""
    for _ in range(20):
        candidate = value[:-1] + rng.choice([d for d in string.digits if d != value[-1]])
        if not any(check(candidate) for check in VALIDATORS):
            return candidate
    return value[:-2] + ("00" if value[-2:] != "00" else "11")


VALIDATORS = [checksums.is_lu_matricule, checksums.is_iban, checksums.is_lu_vat, checksums.is_fr_nir,
              checksums.is_be_national_number, checksums.is_de_tax_id, checksums.is_payment_card]  # fmt: skip


def phone(rng: random.Random) -> str:
    import phonenumbers

    while True:
        kind = rng.choice(["lu_mobile", "lu_mobile", "lu_fixed", "fr", "de", "be"])
        if kind == "lu_mobile":
            nsn = rng.choice(["621", "628", "661", "671", "691"]) + f"{rng.randint(0, 999999):06d}"
            text = rng.choice([f"+352 {nsn[:3]} {nsn[3:6]} {nsn[6:]}", f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}",
                               f"00352 {nsn}"])  # fmt: skip
            region = "LU"
        elif kind == "lu_fixed":
            nsn = rng.choice(["2", "4", "5"]) + f"{rng.randint(0, 9999999):07d}"
            text, region = (
                rng.choice([f"+352 {nsn[:2]} {nsn[2:4]} {nsn[4:6]} {nsn[6:]}", f"+352 {nsn}"]),
                "LU",
            )
        elif kind == "fr":
            nsn = rng.choice("67") + f"{rng.randint(0, 99999999):08d}"
            pairs = " ".join(nsn[i : i + 2] for i in range(1, 9, 2))
            text, region = rng.choice([f"0{nsn[0]} {pairs}", f"+33 {nsn[0]} {pairs}"]), "FR"
        elif kind == "de":
            nsn = rng.choice(["30", "651", "89"]) + f"{rng.randint(1000000, 9999999)}"
            text, region = rng.choice([f"+49 {nsn[:-7]} {nsn[-7:]}", f"0{nsn[:-7]} {nsn[-7:]}"]), "DE"
        else:
            nsn = "47" + f"{rng.randint(0, 9999999):07d}"
            text, region = f"+32 {nsn[:3]} {nsn[3:5]} {nsn[5:7]} {nsn[7:]}", "BE"
        if phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
            return text


STREETS_FR = [
    "rue de la Gare",
    "avenue de la Liberté",
    "rue Principale",
    "boulevard Royal",
    "rue des Champs",
    "route d'Arlon",
    "rue du Moulin",
    "place Guillaume II",
    "rue de l'Église",
    "allée Scheffer",
]
STREETS_DE = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Kirchweg",
    "Schulstraße",
    "Lindenallee",
    "Am Markt",
    "Berliner Straße",
    "Gartenweg",
]
STREETS_LB = ["Haaptstrooss", "Kierchewee", "rue Principale", "Groussgaass", "Bahnhofstrooss"]
STREETS_EN = ["Baker Street", "Church Road", "Station Avenue", "Mill Lane", "Park Drive", "Queen Street"]
LOCALITIES_LU = [
    ("1611", "Luxembourg"),
    ("4002", "Esch-sur-Alzette"),
    ("9515", "Wiltz"),
    ("4501", "Differdange"),
    ("9201", "Diekirch"),
    ("6701", "Grevenmacher"),
    ("3401", "Dudelange"),
    ("8001", "Strassen"),
]
LOCALITIES_DE = [("54290", "Trier"), ("66111", "Saarbrücken"), ("10115", "Berlin"), ("50667", "Köln")]
LOCALITIES_FR = [("57000", "Metz"), ("54000", "Nancy"), ("75011", "Paris"), ("57100", "Thionville")]
LB_FIRST = [
    "Jang",
    "Mett",
    "Fränz",
    "Pol",
    "Lis",
    "Marie-Josée",
    "Gust",
    "Nico",
    "Vic",
    "Tun",
    "Josée",
    "Claude",
]
LB_LAST = ["Weber", "Schmit", "Muller", "Wagner", "Hoffmann", "Thill", "Kremer", "Reuter", "Schiltz", "Faber"]
MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "lb": ["Januar", "Februar", "Mäerz", "Abrëll", "Mee", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
}  # fmt: skip


def address(rng: random.Random, language: str) -> str:
    number = rng.randint(1, 180)
    if language == "de":
        code, town = rng.choice(LOCALITIES_DE + [(f"L-{c}", t) for c, t in LOCALITIES_LU])
        return f"{rng.choice(STREETS_DE)} {number}, {code} {town}"
    if language == "en":
        return rng.choice(
            [
                f"{number} {rng.choice(STREETS_EN)}",
                f"{number}, {rng.choice(STREETS_FR)}, L-{rng.choice(LOCALITIES_LU)[0]} Luxembourg",
            ]
        )
    code, town = rng.choice(LOCALITIES_LU)
    if language == "lb" and rng.random() < 0.5:
        return f"{rng.choice(STREETS_LB)} {number}, L-{code} {town}"
    if rng.random() < 0.2:
        fcode, ftown = rng.choice(LOCALITIES_FR)
        return f"{number} {rng.choice(STREETS_FR)}, {fcode} {ftown}"
    return f"{number}, {rng.choice(STREETS_FR)}, L-{code} {town}"


def plate(rng: random.Random) -> str:
    def letters(k: int) -> str:
        return "".join(rng.choices("ABCDEFGHJKLMNPRSTVWXYZ", k=k))

    return rng.choice(
        [
            f"{letters(2)} {rng.randint(1000, 9999)}",
            f"{letters(2)}-{rng.randint(100, 999)}-{letters(2)}",
            f"{rng.choice(['TR', 'SB', 'B', 'K'])}-{letters(2)} {rng.randint(1, 9999)}",
            f"1-{letters(3)}-{rng.randint(100, 999)}",
        ]
    )


def birth_date(rng: random.Random, language: str) -> str:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1935, 2008)
    month = MONTHS[language][m - 1]
    textual = {
        "fr": f"{d} {month} {y}",
        "de": f"{d}. {month} {y}",
        "en": f"{d} {month} {y}",
        "lb": f"{d}. {month} {y}",
    }
    return rng.choice([f"{d:02d}.{m:02d}.{y}", f"{d:02d}/{m:02d}/{y}", textual[language]])


TEMPLATES = {
    "fr": [
        "Bonjour, je suis {PERSON}, mon matricule est {LU_MATRICULE} et mon IBAN {IBAN}.",
        "Madame {PERSON} habite {ADDRESS} ; on peut la joindre au {PHONE} ou à {EMAIL}.",
        "Je soussigné {PERSON}, né le {DATE_OF_BIRTH}, demande le renouvellement de ma carte.",
        "Numéro de sécurité sociale : {FR_NIR}. Numéro national belge : {BE_NATIONAL_NUMBER}.",
        "Notre société est enregistrée sous le numéro de TVA {LU_VAT} ; contact {EMAIL}.",
        "Mon véhicule immatriculé {LICENSE_PLATE} a été contrôlé le {neg_date}.",
        "Paiement refusé pour la carte {CREDIT_CARD}, montant {neg_amount}.",
        "Connexion depuis l'adresse {IP_ADDRESS} au guichet en ligne, dossier {neg_case}.",
        "Le matricule {neg_bad_id} indiqué sur le formulaire {neg_form} semble erroné.",
        "Conformément à {neg_law}, le {neg_ministry} a informé la commune de {neg_commune}.",
        "Le montant de {neg_amount} est à payer avant le {neg_date} (référence {neg_case}).",
        "Cordialement,\n{PERSON}",
    ],
    "de": [
        "Sehr geehrte Damen und Herren, mein Name ist {PERSON}, meine Steuer-ID lautet {DE_TAX_ID}.",
        "Herr {PERSON}, wohnhaft {ADDRESS}, ist unter {PHONE} erreichbar.",
        "Ich, {PERSON}, geboren am {DATE_OF_BIRTH}, beantrage einen neuen Ausweis.",
        "Bitte überweisen Sie den Betrag auf {IBAN} und schreiben Sie an {EMAIL}.",
        "Das Kennzeichen meines Fahrzeugs ist {LICENSE_PLATE}.",
        "Meine Kreditkarte {CREDIT_CARD} wurde am {neg_date} belastet ({neg_amount}).",
        "Der Zugriff erfolgte von der IP-Adresse {IP_ADDRESS} (Aktenzeichen {neg_case}).",
        "Die Nummer {neg_bad_id} auf dem Formular {neg_form} ist ungültig.",
        "Gemäß {neg_law} hat das {neg_ministry} die Gemeinde {neg_commune} informiert.",
        "Mit freundlichen Grüßen\n{PERSON}",
    ],
    "en": [
        "Hello, my name is {PERSON} and my national identification number is {LU_MATRICULE}.",
        "Please send the letter to {PERSON}, {ADDRESS}, or call {PHONE}.",
        "Date of birth: {DATE_OF_BIRTH}. Email: {EMAIL}.",
        "Refund to IBAN {IBAN}, VAT number {LU_VAT}.",
        "My car's licence plate is {LICENSE_PLATE}.",
        "The card {CREDIT_CARD} was charged {neg_amount} on {neg_date}.",
        "Login from {IP_ADDRESS} was blocked, see case {neg_case}.",
        "The number {neg_bad_id} on form {neg_form} is not valid.",
        "Under {neg_law}, the {neg_ministry} informed the municipality of {neg_commune}.",
        "Kind regards,\n{PERSON}",
    ],
    "lb": [
        "Moien, ech heeschen {PERSON}, meng Matrikelnummer ass {LU_MATRICULE}.",
        "Den Här {PERSON} wunnt {ADDRESS}, säin Telefon ass {PHONE}.",
        "D'Madamm {PERSON}, gebuer den {DATE_OF_BIRTH}, huet eng E-Mail un {EMAIL} geschéckt.",
        "Meng IBAN ass {IBAN}.",
        "Mäin Auto huet d'Nummerplack {LICENSE_PLATE}.",
        "De Betrag vun {neg_amount} ass bis den {neg_date} ze bezuelen (Dossier {neg_case}).",
        "D'{neg_ministry} huet d'Gemeng {neg_commune} informéiert.",
        "Mat beschte Gréiss,\n{PERSON}",
    ],
}  # fmt: skip

NEGATIVES = {
    "amount": ["1 250,00 EUR", "45,50 €", "EUR 3.200", "12 000 euros", "€ 99,90"],
    "date": ["15/03/2024", "01.04.2024", "12 mars 2024", "3 June 2023", "2024-01-15"],
    "case": ["2024/1234", "12 O 345/23", "C-123/22", "n° 2023-5567", "AZ 4 K 12/24"],
    "form": ["F-123", "A 12", "CNS-2024-01", "E 104"],
    "law": ["l'article 12 de la loi du 8 mars 2017", "§ 15 Abs. 2 des Gesetzes vom 8. März 2017",
            "article 3 of the law of 25 March 2020", "l'article L. 123-4 du code du travail"],
    "ministry": ["Ministère de la Santé", "Ministerium für Familie", "Ministry of Education", "CNS",
                 "Ministère de l'Intérieur"],
    "commune": ["Differdange", "Esch-sur-Alzette", "Ettelbruck", "Mersch", "Remich", "Clervaux"],
}  # fmt: skip

_FAKERS = {"fr": "fr_FR", "de": "de_DE", "en": "en_GB"}


def _person(rng: random.Random, fakers: dict[str, Faker], language: str) -> str:
    if language == "lb" or rng.random() < 0.15:
        return f"{rng.choice(LB_FIRST)} {rng.choice(LB_LAST)}"
    fake = fakers[language]
    return f"{fake.first_name()} {fake.last_name()}"


def _grouped(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def _be_dotted(v: str) -> str:
    return f"{v[:2]}.{v[2:4]}.{v[4:6]}-{v[6:9]}.{v[9:]}"


def _ip(rng: random.Random) -> str:
    v4 = ".".join(str(rng.randint(lo, hi)) for lo, hi in ((11, 223), (0, 255), (0, 255), (1, 254)))
    return rng.choice([v4, f"2001:db8:{rng.randint(1, 9999):x}::{rng.randint(1, 255):x}"])


def _email(rng: random.Random, fakers: dict[str, Faker]) -> str:
    first = _person(rng, fakers, "fr").split()[0].lower()
    return (
        f"{first}.{rng.choice(LB_LAST).lower()}@{rng.choice(['example.lu', 'mail.com', 'post.lu', 'web.de'])}"
    )


def _value(rng: random.Random, fakers: dict[str, Faker], slot: str, language: str) -> str:
    makers = {
        "PERSON": lambda: _person(rng, fakers, language),
        "EMAIL": lambda: _email(rng, fakers),
        "PHONE": lambda: phone(rng),
        "LU_MATRICULE": lambda: _sep(rng, matricule(rng), [4, 2, 2, 3]),
        "IBAN": lambda: rng.choice([iban(rng), _grouped(iban(rng))]),
        "LU_VAT": lambda: rng.choice([lambda v: v, lambda v: f"LU {v[2:6]} {v[6:]}"])(lu_vat(rng)),
        "FR_NIR": lambda: _sep(rng, fr_nir(rng), [1, 2, 2, 2, 3, 3]).replace(".", " "),
        "BE_NATIONAL_NUMBER": lambda: rng.choice([be_nn(rng), _be_dotted(be_nn(rng))]),
        "DE_TAX_ID": lambda: _sep(rng, de_tax_id(rng), [2, 3, 3]),
        "CREDIT_CARD": lambda: _sep(rng, card(rng), [4, 4, 4]),
        "ADDRESS": lambda: address(rng, language),
        "LICENSE_PLATE": lambda: plate(rng),
        "DATE_OF_BIRTH": lambda: birth_date(rng, language),
        "IP_ADDRESS": lambda: _ip(rng),
        "neg_bad_id": lambda: broken(rng, rng.choice([matricule, de_tax_id, card, be_nn])(rng)),
    }
    if slot in makers:
        return makers[slot]()
    return rng.choice(NEGATIVES[slot.removeprefix("neg_")])


def generate(count: int, seed: int = 4) -> list[Sample]:
    """``count`` labelled samples, the same for the same seed."""
    rng = random.Random(seed)
    fakers = {lang: Faker(loc) for lang, loc in _FAKERS.items()}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 100 + i)
    samples = []
    for _ in range(count):
        language = rng.choice(list(TEMPLATES))
        template = rng.choice(TEMPLATES[language])
        text, spans, cursor = "", [], 0
        for match in SEPARATED.finditer(template):
            text += template[cursor : match.start()]
            slot = match.group(1)
            value = _value(rng, fakers, slot, language)
            if not slot.startswith("neg_"):
                spans.append((len(text), len(text) + len(value), slot))
            text += value
            cursor = match.end()
        text += template[cursor:]
        samples.append(Sample(text, spans, language))
    return samples


def main() -> None:
    """Print a few samples with their gold spans."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    for sample in generate(args.count, args.seed):
        print(repr(sample.text))
        for start, end, kind in sample.spans:
            print(f"    {kind}: {sample.text[start:end]!r}")


if __name__ == "__main__":
    main()
