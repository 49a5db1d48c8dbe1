"""Answer evaluation: citation validity, required facts, refusals and time to first token.

A question file holds one JSON object a line: ``{"id", "question", "language", "required_facts":
[...], "answerable": bool}`` plus optional string tags (``kind``, ...). What the assistant did with a
question is an ``Observed`` reply (read from its stream by ``evaluation.client``); ``score_answer`` judges
it and ``summarise`` turns the scores into rates and percentiles.

- A reply is a refusal when the assistant says it is not grounded in the sources (``grounded`` false).
  Refusing an unanswerable question is correct; so is answering an answerable one.
- Citations are valid when every number cited in the text (``[1]``, ``[1, 3]``) and every entry of the
  reply's ``citations`` is one of the retrieved sources announced at the start of the stream, and an
  answer (not a refusal) cites at least one source.
- A required fact is present when it occurs in the answer ignoring case, accents, apostrophe and dash
  variants and spacing (``86 €`` matches ``86€``); ``|`` separates accepted alternatives (``15 ans|15
  Jahre|15 years``). A fact must start on a word boundary, and one ending in a digit must end on one
  (``15`` does not match ``150``), so that a stem such as ``carte`` matches ``cartes``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from souverain.errors import InvalidRequest

_CITATION = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)*)\s*\]", re.IGNORECASE)
_VARIANTS = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "‐": "-",
        "–": "-",
        "—": "-",
    }
)


@dataclass(frozen=True)
class AnswerQuestion:
    """One question to put to the assistant, and what a good reply must contain."""

    id: str
    question: str
    language: str
    required_facts: tuple[str, ...]
    answerable: bool
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    """What the assistant's streamed reply to one question showed."""

    answer: str
    source_numbers: frozenset[int]  # the retrieved sources announced by the stream's meta event
    citation_numbers: frozenset[int]  # the ``n`` of the final reply's citations
    grounded: bool
    handover_offered: bool
    ttft_s: float | None  # seconds from sending the request to the first non-empty text delta
    total_s: float
    error: str | None = None  # an HTTP or stream error instead of a reply


@dataclass(frozen=True)
class AnswerScore:
    """The verdicts on one reply."""

    question: AnswerQuestion
    observed: Observed
    refused: bool
    refusal_correct: bool  # refused an unanswerable question, or answered an answerable one
    citations_valid: bool
    facts_found: tuple[str, ...]
    facts_missing: tuple[str, ...]


def parse_question(record: Any, line: int) -> AnswerQuestion:
    """An ``AnswerQuestion`` from one decoded JSON line; ``InvalidRequest`` naming the line when malformed."""
    if not isinstance(record, dict):
        raise InvalidRequest(f"questions line {line}: expected a JSON object")
    question, facts = record.get("question"), record.get("required_facts", [])
    if not isinstance(question, str) or not question.strip():
        raise InvalidRequest(f'questions line {line}: "question" must be a non-empty string')
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise InvalidRequest(f'questions line {line}: "required_facts" must be a list of strings')
    if not isinstance(record.get("answerable"), bool):
        raise InvalidRequest(f'questions line {line}: "answerable" must be true or false')
    known = ("id", "question", "language", "required_facts", "answerable")
    tags = {k: v for k, v in record.items() if k not in known and isinstance(v, str)}
    language = record.get("language") if isinstance(record.get("language"), str) else "fr"
    return AnswerQuestion(
        str(record.get("id", line)), question, str(language), tuple(facts), record["answerable"], tags
    )


def load_questions(path: Path) -> list[AnswerQuestion]:
    """Every question of a JSON-lines file, blank lines skipped."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise InvalidRequest(f"questions line {number}: not valid JSON") from None
            questions.append(parse_question(record, number))
    return questions


def fold(text: str) -> str:
    """Lowercase, accents removed, quote and dash variants unified, every run of spaces made one space."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_VARIANTS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _fact_pattern(alternative: str) -> re.Pattern[str]:
    folded = fold(alternative)
    body = r"\s*".join(re.escape(part) for part in folded.split(" "))
    head = r"(?<![0-9a-z])" if folded[:1].isalnum() else ""
    tail = r"(?![0-9])" if folded[-1:].isdigit() else ""
    return re.compile(head + body + tail)


def fact_present(fact: str, answer: str) -> bool:
    """Whether any ``|``-separated alternative of ``fact`` occurs in ``answer`` (see the module docstring)."""
    folded = fold(answer)
    alternatives = [a for a in (part.strip() for part in fact.split("|")) if a]
    return any(_fact_pattern(a).search(folded) for a in alternatives)


def cited_numbers(answer: str) -> frozenset[int]:
    """The source numbers cited in an answer's text: ``[2]``, ``[1, 3]``, ``[1][2]``, ``[source 4]``."""
    found: set[int] = set()
    for match in _CITATION.finditer(answer):
        found.update(int(n) for n in re.findall(r"\d+", match.group(1)))
    return frozenset(found)


def is_refusal(observed: Observed) -> bool:
    """A reply that says the sources do not answer (an error is not a refusal)."""
    return observed.error is None and not observed.grounded


def citations_valid(observed: Observed) -> bool:
    """Every cited number is a retrieved source, and an answer (not a refusal) cites at least one."""
    if observed.error is not None:
        return False
    cited = cited_numbers(observed.answer) | observed.citation_numbers
    if not cited.issubset(observed.source_numbers):
        return False
    return is_refusal(observed) or bool(cited_numbers(observed.answer))


def score_answer(question: AnswerQuestion, observed: Observed) -> AnswerScore:
    """Judge one reply (citation markers are left out when looking for facts: ``[2]`` is not a fact "2")."""
    refused = is_refusal(observed)
    answered = observed.error is None and not refused
    prose = _CITATION.sub(" ", observed.answer)
    found = tuple(f for f in question.required_facts if fact_present(f, prose))
    missing = tuple(f for f in question.required_facts if f not in found)
    return AnswerScore(
        question=question,
        observed=observed,
        refused=refused,
        refusal_correct=refused if not question.answerable else answered,
        citations_valid=citations_valid(observed),
        facts_found=found,
        facts_missing=missing,
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def summarise(scores: Sequence[AnswerScore]) -> dict[str, Any]:
    """Counts, rates and time-to-first-token percentiles over all scored replies."""
    answerable = [s for s in scores if s.question.answerable]
    unanswerable = [s for s in scores if not s.question.answerable]
    answered = [s for s in scores if not s.refused]  # errors included: they count as invalid citations
    ttfts = [s.observed.ttft_s for s in scores if s.observed.ttft_s is not None]
    fact_shares = [
        len(s.facts_found) / len(s.question.required_facts) for s in answerable if s.question.required_facts
    ]
    return {
        "questions": len(scores),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "errors": sum(s.observed.error is not None for s in scores),
        "citations_valid_rate": _rate([s.citations_valid for s in answered]),
        "facts_recall": sum(fact_shares) / len(fact_shares) if fact_shares else None,
        "facts_complete_rate": _rate([not s.facts_missing for s in answerable]),
        "correct_refusal_rate": _rate([s.refused for s in unanswerable]),
        "false_refusal_rate": _rate([s.refused for s in answerable]),
        "refusal_accuracy": _rate([s.refusal_correct for s in scores]),
        "handover_offered_rate": _rate([s.observed.handover_offered for s in scores]),
        "ttft_p50_s": percentile(ttfts, 50),
        "ttft_p95_s": percentile(ttfts, 95),
        "total_p50_s": percentile([s.observed.total_s for s in scores], 50),
    }
