"""Compact sources: the sentences of a passage that share the most words with the question, within a budget.

The prompt is read by a small CPU model at about 90 tokens a second, so every source character costs time to
first token. A passage longer than its budget keeps its best-matching sentences, in their original order;
when no sentence shares a word with the question (e.g. a German question about a French page) it keeps the
passage's beginning.
"""

from __future__ import annotations

import re
import unicodedata

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
_WORD = re.compile(r"\w+")
_STEM = 5  # a crude prefix stem: "renouveler" and "renouvellement" meet at "renou"
GAP = " … "


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def terms(text: str) -> set[str]:
    """The question's or sentence's content words, folded and prefix-stemmed (short words ignored)."""
    return {w[:_STEM] for w in _WORD.findall(_fold(text)) if len(w) > 3}


def sentences(text: str) -> list[str]:
    """The passage split into sentences and lines, without empty pieces."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def excerpt(text: str, question: str, limit: int) -> str:
    """``text`` if it fits ``limit`` characters, else its sentences that best match ``question``."""
    text = text.strip()
    if len(text) <= limit:
        return text
    pieces = sentences(text)
    wanted = terms(question)
    ranked = sorted(range(len(pieces)), key=lambda i: (-len(terms(pieces[i]) & wanted), i))
    chosen: set[int] = set()
    used = 0
    for index in ranked:
        cost = len(pieces[index]) + len(GAP)
        if used + cost > limit:
            continue
        chosen.add(index)
        used += cost
    if not chosen:  # one sentence longer than the budget: cut it at a word boundary
        return pieces[ranked[0]][:limit].rsplit(" ", 1)[0] + "…"
    return _join(pieces, sorted(chosen))


def _join(pieces: list[str], indices: list[int]) -> str:
    """The chosen sentences in order, with a gap mark where sentences were left out."""
    out: list[str] = []
    for position, index in enumerate(indices):
        if position and index != indices[position - 1] + 1:
            out.append(GAP.strip())
        out.append(pieces[index])
    return " ".join(out)
