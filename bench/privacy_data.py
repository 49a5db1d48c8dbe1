"""Readers of the evaluation corpora in ../shared/data for the privacy benchmarks (see their SOURCE.md).

Each reader returns ``Sample``s: a text and its gold personal-data spans (character offsets, canonical
types). Token-tagged corpora are rebuilt by joining tokens with single spaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NER = SHARED / "ner-fr-de"
PRESIDIO = SHARED / "presidio-synth" / "synth_dataset_v2.json"

# presidio-research entity types -> ours. Types mapped to None are not personal data for us: their tokens
# are negatives. Tokens of the IGNORED types (personal data we do not detect under that type: a date that
# may be a birth date, a ZIP code that is part of an address, US identifiers) count for nothing.
PRESIDIO_TYPES: dict[str, str | None] = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "GPE": None,
    "ORGANIZATION": None,
    "DATE_TIME": None,
    "TITLE": None,
    "AGE": None,
    "NRP": None,
    "ZIP_CODE": None,
    "DOMAIN_NAME": None,
    "US_SSN": None,
    "US_DRIVER_LICENSE": None,
}
PRESIDIO_IGNORED = frozenset({"DATE_TIME", "ZIP_CODE", "US_SSN", "US_DRIVER_LICENSE"})


@dataclass
class Sample:
    """One text with its gold spans ``(start, end, type)``."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    language: str | None = None
    ignored: list[tuple[int, int, str]] = field(default_factory=list)


def _tagged_to_sample(tokens: list[tuple[str, str]], language: str) -> Sample:
    text_parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    offset = 0
    open_span: list[int] | None = None
    for token, tag in tokens:
        start = offset
        text_parts.append(token)
        offset += len(token) + 1
        is_person = tag.endswith("-PER")
        if is_person and (tag.startswith("I-") and open_span is not None):
            open_span[1] = start + len(token)
            continue
        if open_span is not None:
            spans.append((open_span[0], open_span[1], "PERSON"))
            open_span = None
        if is_person:
            open_span = [start, start + len(token)]
    if open_span is not None:
        spans.append((open_span[0], open_span[1], "PERSON"))
    return Sample(" ".join(text_parts), spans, language)


def _sentences(path: Path) -> list[list[list[str]]]:
    sentences: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        if line.startswith("#"):
            continue
        current.append(line.split("\t"))
    if current:
        sentences.append(current)
    return sentences


def wikiann(language: str, split: str = "test") -> list[Sample]:
    """WikiANN (PAN-X) fr or de, PERSON spans only."""
    path = NER / "wikiann" / f"wikiann-{language}-{split}.bio"
    samples = []
    for sentence in _sentences(path):
        tokens = [(cols[0].split(":", 1)[1], cols[-1]) for cols in sentence]
        samples.append(_tagged_to_sample(tokens, language))
    return samples


def germeval(split: str = "test") -> list[Sample]:
    """GermEval 2014 (outer tags), PERSON spans only (PERderiv and PERpart are not names of a person)."""
    path = NER / "germeval2014" / f"NER-de-{split}.tsv"
    return [_tagged_to_sample([(c[1], c[2]) for c in s], "de") for s in _sentences(path)]


def presidio_synth() -> list[Sample]:
    """presidio-research's English synthetic set, its types mapped to ours (unmapped types dropped)."""
    records = json.loads(PRESIDIO.read_text(encoding="utf-8"))
    samples = []
    for record in records:
        spans, ignored = [], []
        for span in record["spans"]:
            kind, position = span["entity_type"], (span["start_position"], span["end_position"])
            mapped = PRESIDIO_TYPES.get(kind)
            if mapped:
                spans.append((*position, mapped))
            elif kind in PRESIDIO_IGNORED:
                ignored.append((*position, kind))
        samples.append(Sample(record["full_text"], sorted(spans), "en", ignored))
    return samples
