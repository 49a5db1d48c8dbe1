"""Compact sources: the sentences of a passage that best match the question, within a budget.

The prompt is read by a small CPU model at 70 to 90 tokens a second, so every source character costs time
to first token. A passage longer than its budget keeps its best sentences, in their original order. A
sentence scores by the question's words it contains (Snowball stems in French, German and English, the
knowledge base's analysis), longer words counting more than short ones; when the question asks for a
figure (how much, how long, at what age, which deadline: "combien", "wie viel", "how long" ...) a sentence
holding a number scores more, since that is where such answers are. When no sentence shares a word with the
question (e.g. a German question about a French page) the sentences holding numbers come first when a
figure is asked for, otherwise the passage's beginning is kept.
"""

from __future__ import annotations

import re

from souverain.knowledge.analysis import analyze_query, fold

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
_NUMBER = re.compile(r"\d")
# words (folded) by which a question asks for an amount, a duration, an age, a date or a count
_FIGURE_CUES = frozenset(
    {
        *("combien", "montant", "prix", "cout", "coute", "coutent", "tarif", "delai", "duree", "age"),
        *("quand", "much", "many", "long", "old", "when", "cost", "costs", "price", "fee"),
        *("deadline", "viel", "viele", "lange", "alt", "wann", "kostet", "kosten", "preis", "gebuhr"),
        *("frist", "dauer", "betrag"),
    }
)
_FIGURE_PHRASES = ("wieviel",)
GAP = " … "


def terms(text: str) -> set[str]:
    """The content terms of a question or sentence: stop words out, stems in (fr, de, en)."""
    return {term for term in analyze_query(text) if len(term) > 2}


def asks_for_figure(question: str) -> bool:
    """Whether the question asks for an amount, duration, age, date or count."""
    words = set(re.findall(r"\w+", fold(question)))
    return bool(words & _FIGURE_CUES) or any(phrase in words for phrase in _FIGURE_PHRASES)


def sentences(text: str) -> list[str]:
    """The passage split into sentences and lines, each once (passages of one page may overlap), without
    empty pieces or gap marks."""
    pieces = (piece.strip() for piece in _SENTENCE.split(text))
    return list(dict.fromkeys(piece for piece in pieces if piece.strip(" .…")))


def score(sentence: str, found: set[str], figure: bool) -> float:
    """How well a sentence matches: the question terms ``found`` in it, weighted by length, plus a figure
    when one is asked for."""
    value = sum(min(len(term), 8) for term in found) / 8
    if figure and _NUMBER.search(sentence):
        value += 1.0
    return value


def excerpt(text: str, question: str, limit: int) -> str:
    """``text`` if it fits ``limit`` characters, else its sentences that best match ``question``."""
    text = text.strip()
    if len(text) <= limit:
        return text
    pieces = sentences(text)
    wanted, figure = terms(question), asks_for_figure(question)
    found = [terms(piece) & wanted for piece in pieces]
    # a figure counts in a sentence about the question; when no sentence shares a word with the question (a
    # German question about a French page), in any sentence
    shared = any(found)
    scores = [score(p, f, figure and (bool(f) or not shared)) for p, f in zip(pieces, found, strict=True)]
    ranked = sorted(range(len(pieces)), key=lambda i: (-scores[i], i))
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
