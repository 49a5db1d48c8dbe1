"""The languages the assistant speaks, and how the prompt names them to the model."""

from __future__ import annotations

from typing import Literal, get_args

Language = Literal["fr", "de", "en", "lb"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

# The model is told the answer language by name (a small model follows "german" better than "de"), in
# lower case: the privacy stage reads the prompt too, and takes a capitalised "German" for a first name.
PROMPT_NAMES: dict[Language, str] = {
    "fr": "french",
    "de": "german",
    "en": "english",
    "lb": "luxembourgish",
}


def parse_language(value: object) -> Language | None:
    """``value`` if it names one of the assistant's languages, else None."""
    return next((language for language in LANGUAGES if value == language), None)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# frequent short words that tell the four languages apart well enough for a question of a few words
_MARKERS: dict[Language, frozenset[str]] = {
    "fr": _words(
        "le la les des est une pour que qui dans avec pas mon ma mes je vous nous comment quoi "
        "où faire mon fils perdu carte au aux du"
    ),
    "de": _words(
        "der die das und ist nicht ich mein meine wie was wo ein eine für mit sie wir habe hat "
        "mir verloren sohn kann"
    ),
    "en": _words("the is and my what how where for with not lost do does i you can son have get"),
    "lb": _words("ech hunn mäin meng wéi wat net ass vun fir mat mir kann dir wou sinn huet muss verluer"),
}


def guess_language(text: str, default: Language = "fr") -> Language:
    """The likeliest of the four languages for a short text (``default`` when nothing tells)."""
    words = [w.strip(".,;:!?¿¡'\"()").casefold() for w in text.split()]
    scores = {language: sum(w in markers for w in words) for language, markers in _MARKERS.items()}
    return max(LANGUAGES, key=lambda language: (scores[language], language == default))
