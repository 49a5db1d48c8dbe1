"""The AI notice (AI Act Art. 50(1)): the use case's text in the conversation's language, on its first answer.

A use case registers its notice per language; when it lacks the requested language the English, then the
French, then any registered text is used, and when it has none a built-in notice still tells the person
they are talking to an AI.
"""

from __future__ import annotations

from collections.abc import Mapping

from souverain.assistant.language import Language

BUILT_IN: dict[Language, str] = {
    "fr": "Vous échangez avec une intelligence artificielle, pas avec une personne. "
    "Ses réponses peuvent contenir des erreurs.",
    "de": "Sie sprechen mit einer künstlichen Intelligenz, nicht mit einem Menschen. "
    "Ihre Antworten können Fehler enthalten.",
    "en": "You are talking to an artificial intelligence, not a person. Its answers may contain errors.",
    "lb": "Dir schwätzt mat enger kënschtlecher Intelligenz, net mat engem Mënsch. "
    "Hir Äntwerte kënne Feeler enthalen.",
}


def notice_for(notices: Mapping[str, str], language: Language) -> str:
    """The notice to show in ``language``, from the use case's texts or the built-in one."""
    for candidate in (language, "en", "fr"):
        text = notices.get(candidate, "").strip()
        if text:
            return text
    registered = [text.strip() for text in notices.values() if text.strip()]
    return registered[0] if registered else BUILT_IN[language]
