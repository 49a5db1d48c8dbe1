"""What the assistant says when the pages do not answer: plainly, pointing to the competent office, offering
a person; and what it says once a question has been handed over.

The office is named per deployment (``offices``, per language), e.g. the administration's helpdesk or
front desk; without it the text points to the administration's helpdesk in general terms. An office is
written as it follows the verb, preposition included ("au guichet de la commune", "an das Bürgeramt"), so
that French and German contractions come out right.
"""

from __future__ import annotations

from collections.abc import Mapping

from souverain.assistant.language import Language

DEFAULT_OFFICES: dict[str, str] = {
    "fr": "au guichet ou au service d'assistance de l'administration concernée",
    "de": "an den Schalter oder den Helpdesk der zuständigen Verwaltung",
    "en": "the front desk or helpdesk of the administration concerned",
    "lb": "un de Guichet oder den Helpdesk vun der zoustänneger Verwaltung",
}

_REFUSALS: dict[Language, str] = {
    "fr": "Les pages officielles dont je dispose ne répondent pas à cette question. "
    "Adressez-vous {office}. Vous pouvez aussi demander à parler à une personne : "
    "un agent reprendra votre question.",
    "de": "Die offiziellen Seiten, die mir vorliegen, beantworten diese Frage nicht. "
    "Wenden Sie sich bitte {office}. Sie können auch mit einer Person sprechen: "
    "Eine Mitarbeiterin oder ein Mitarbeiter übernimmt Ihre Frage.",
    "en": "The official pages available to me do not answer this question. "
    "Please contact {office}. You can also ask to talk to a person: a member of staff will take over "
    "your question.",
    "lb": "Déi offiziell Säiten, déi ech hunn, beäntweren dës Fro net. "
    "Wend Iech w.e.g. {office}. Dir kënnt och mat enger Persoun schwätzen: "
    "e Mataarbechter iwwerhëlt Är Fro.",
}

_HANDED_OVER: dict[Language, str] = {
    "fr": "Votre question a été transmise à un agent, qui vous répondra.",
    "de": "Ihre Frage wurde an eine Mitarbeiterin oder einen Mitarbeiter weitergeleitet.",
    "en": "Your question has been passed on to a member of staff, who will answer you.",
    "lb": "Är Fro gouf un e Mataarbechter weidergeleet, deen Iech äntwert.",
}


class Refusals:
    """The refusal and hand-over texts, with the competent office of this deployment."""

    def __init__(self, offices: Mapping[str, str] | None = None) -> None:
        self.offices: dict[str, str] = dict(DEFAULT_OFFICES)
        self.offices.update(offices or {})

    def not_answered(self, language: Language) -> str:
        """The pages do not answer: say so, name the office, offer a person."""
        return _REFUSALS[language].format(office=self.offices[language])

    def handed_over(self, language: Language) -> str:
        """The confirmation that a person will take over."""
        return _HANDED_OVER[language]
