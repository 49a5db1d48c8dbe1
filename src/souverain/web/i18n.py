"""The citizen page's interface strings in French, German, English and Luxembourgish, and language choice.

The page is server-rendered in one language; the strings its script needs travel in a JSON block of the
page, so every language lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("fr", "de", "en", "lb")
DEFAULT_LANGUAGE = "fr"

# Legal attribution of the demo corpus: the wording stays close to the licence's own (French) formula.
ATTRIBUTION = {
    "fr": "Source : service-public.fr (DILA), Licence Ouverte 2.0",
    "de": "Quelle: service-public.fr (DILA), Licence Ouverte 2.0",
    "en": "Source: service-public.fr (DILA), Licence Ouverte 2.0",
    "lb": "Quell: service-public.fr (DILA), Licence Ouverte 2.0",
}

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "language_name": "Français",
        "title": "Assistant des démarches",
        "greeting": "Comment puis-je vous aider ?",
        "intro": "Posez votre question sur vos droits et démarches. Les réponses s'appuient sur des pages "
        "officielles et citent leurs sources.",
        "skip": "Aller à la question",
        "language_nav": "Langue",
        "notice_heading": "Information importante",
        "default_notice": "Vous échangez avec un système d'intelligence artificielle, pas avec une personne. "
        "Ses réponses peuvent contenir des erreurs : vérifiez-les auprès de l'administration compétente.",
        "conversation": "Conversation",
        "question_label": "Votre question",
        "question_hint": "Entrée pour envoyer, Maj+Entrée pour aller à la ligne. "
        "N'indiquez pas de données personnelles.",
        "send": "Envoyer",
        "you": "Vous",
        "assistant": "Assistant",
        "sources": "Sources",
        "source": "Source",
        "new_tab": "(s'ouvre dans un nouvel onglet)",
        "writing": "L'assistant rédige sa réponse…",
        "answered": "Réponse reçue.",
        "error": "Désolé, une erreur est survenue. Réessayez dans un instant.",
        "empty": "Écrivez d'abord votre question.",
        "busy": "Patientez : une réponse est en cours.",
        "handover_heading": "Besoin d'une personne ?",
        "handover_text": "Un agent peut reprendre votre question.",
        "handover_button": "Parler à une personne",
        "handover_sending": "Transmission en cours…",
        "handover_done": "Votre demande a été transmise à un agent. Numéro de ticket : {ticket}",
        "handover_offered": "Les sources ne permettent pas de répondre avec certitude. "
        "Vous pouvez demander à parler à une personne.",
        "demo": "Démonstration : les pages utilisées datent de 2016–2020 et peuvent être périmées. "
        "Ce n'est pas un service public officiel.",
        "noscript": "Cette page a besoin de JavaScript pour dialoguer avec l'assistant.",
    },
    "de": {
        "language_name": "Deutsch",
        "title": "Assistent für Behördengänge",
        "greeting": "Wie kann ich Ihnen helfen?",
        "intro": "Stellen Sie Ihre Frage zu Ihren Rechten und Behördengängen. Die Antworten stützen sich auf "
        "offizielle Seiten und nennen ihre Quellen.",
        "skip": "Zur Frage springen",
        "language_nav": "Sprache",
        "notice_heading": "Wichtiger Hinweis",
        "default_notice": "Sie kommunizieren mit einem System der künstlichen Intelligenz, nicht mit einem "
        "Menschen. Seine Antworten können Fehler enthalten: Prüfen Sie sie bei der zuständigen Verwaltung.",
        "conversation": "Unterhaltung",
        "question_label": "Ihre Frage",
        "question_hint": "Eingabetaste zum Senden, Umschalt+Eingabe für eine neue Zeile. "
        "Geben Sie keine persönlichen Daten ein.",
        "send": "Senden",
        "you": "Sie",
        "assistant": "Assistent",
        "sources": "Quellen",
        "source": "Quelle",
        "new_tab": "(öffnet sich in einem neuen Tab)",
        "writing": "Der Assistent schreibt seine Antwort…",
        "answered": "Antwort erhalten.",
        "error": "Entschuldigung, ein Fehler ist aufgetreten. Bitte versuchen Sie es gleich noch einmal.",
        "empty": "Bitte schreiben Sie zuerst Ihre Frage.",
        "busy": "Bitte warten: Eine Antwort wird gerade geschrieben.",
        "handover_heading": "Lieber mit einem Menschen sprechen?",
        "handover_text": "Eine Mitarbeiterin oder ein Mitarbeiter kann Ihre Frage übernehmen.",
        "handover_button": "Mit einem Menschen sprechen",
        "handover_sending": "Wird übermittelt…",
        "handover_done": "Ihre Anfrage wurde an die Verwaltung weitergeleitet. Ticketnummer: {ticket}",
        "handover_offered": "Die Quellen beantworten diese Frage nicht sicher. "
        "Sie können mit einem Menschen sprechen.",
        "demo": "Demonstration: Die verwendeten Seiten stammen aus den Jahren 2016–2020 und können veraltet "
        "sein. Dies ist kein offizieller Dienst der Verwaltung.",
        "noscript": "Diese Seite braucht JavaScript, um mit dem Assistenten zu sprechen.",
    },
    "en": {
        "language_name": "English",
        "title": "Public services assistant",
        "greeting": "How can I help you?",
        "intro": "Ask your question about your rights and formalities. Answers are based on official pages "
        "and cite their sources.",
        "skip": "Skip to the question",
        "language_nav": "Language",
        "notice_heading": "Important notice",
        "default_notice": "You are talking to an artificial intelligence system, not a person. Its answers "
        "may contain mistakes: check them with the competent administration.",
        "conversation": "Conversation",
        "question_label": "Your question",
        "question_hint": "Enter to send, Shift+Enter for a new line. Do not enter personal data.",
        "send": "Send",
        "you": "You",
        "assistant": "Assistant",
        "sources": "Sources",
        "source": "Source",
        "new_tab": "(opens in a new tab)",
        "writing": "The assistant is writing its answer…",
        "answered": "Answer received.",
        "error": "Sorry, something went wrong. Please try again in a moment.",
        "empty": "Please write your question first.",
        "busy": "Please wait: an answer is being written.",
        "handover_heading": "Need a person?",
        "handover_text": "A member of staff can take over your question.",
        "handover_button": "Talk to a person",
        "handover_sending": "Sending…",
        "handover_done": "Your request has been passed to a member of staff. Ticket number: {ticket}",
        "handover_offered": "The sources do not answer this with certainty. You can ask to talk to a person.",
        "demo": "Demonstration: the pages used date from 2016–2020 and may be out of date. "
        "This is not an official public service.",
        "noscript": "This page needs JavaScript to talk to the assistant.",
    },
    "lb": {
        "language_name": "Lëtzebuergesch",
        "title": "Assistent fir Verwaltungsfroen",
        "greeting": "Wéi kann ech Iech hëllefen?",
        "intro": "Stellt Är Fro zu Äre Rechter a Formalitéiten. D'Äntwerte baséieren op offiziellen Säiten "
        "a ginn hir Quellen un.",
        "skip": "Direkt op d'Fro",
        "language_nav": "Sprooch",
        "notice_heading": "Wichteg Informatioun",
        "default_notice": "Dir schwätzt mat engem System vu kënschtlecher Intelligenz, net mat engem "
        "Mënsch. Seng Äntwerte kënne Feeler hunn: kontrolléiert se bei der zoustänneger Verwaltung.",
        "conversation": "Gespréich",
        "question_label": "Är Fro",
        "question_hint": "Enter fir ze schécken, Shift+Enter fir eng nei Zeil. "
        "Gitt keng perséinlech Donnéeën an.",
        "send": "Schécken",
        "you": "Dir",
        "assistant": "Assistent",
        "sources": "Quellen",
        "source": "Quell",
        "new_tab": "(gëtt an engem neien Tab opgemaach)",
        "writing": "Den Assistent schreift seng Äntwert…",
        "answered": "Äntwert ukomm.",
        "error": "Pardon, et ass e Feeler geschitt. Probéiert et w.e.g. gläich nach eng Kéier.",
        "empty": "Schreift w.e.g. als éischt Är Fro.",
        "busy": "Waart w.e.g.: eng Äntwert gëtt grad geschriwwen.",
        "handover_heading": "Léiwer mat engem Mënsch schwätzen?",
        "handover_text": "E Mataarbechter vun der Verwaltung kann Är Fro iwwerhuelen.",
        "handover_button": "Mat engem Mënsch schwätzen",
        "handover_sending": "Gëtt iwwermëttelt…",
        "handover_done": "Är Ufro gouf un d'Verwaltung weidergeleet. Ticketnummer: {ticket}",
        "handover_offered": "D'Quelle beäntweren dës Fro net sécher. Dir kënnt mat engem Mënsch schwätzen.",
        "demo": "Demonstratioun: D'Säiten, déi benotzt ginn, sinn aus de Joren 2016–2020 a kënnen "
        "net méi aktuell sinn. Dëst ass keen offiziellen ëffentleche Service.",
        "noscript": "Dës Säit brauch JavaScript, fir mam Assistent ze schwätzen.",
    },
}

# The strings the page's script shows (the rest is rendered on the server).
SCRIPT_KEYS = (
    "you",
    "assistant",
    "sources",
    "source",
    "new_tab",
    "writing",
    "answered",
    "error",
    "empty",
    "busy",
    "handover_sending",
    "handover_done",
    "handover_offered",
)


def strings(language: str) -> dict[str, str]:
    """Every interface string in ``language`` (the default language when it is not supported)."""
    return STRINGS.get(language, STRINGS[DEFAULT_LANGUAGE])


def script_strings(language: str) -> dict[str, str]:
    """The strings the page's script needs, in ``language``."""
    table = strings(language)
    return {key: table[key] for key in SCRIPT_KEYS}


def _ranked(header: str) -> list[tuple[float, int, str]]:
    """Accept-Language entries as (quality, position, primary subtag), best first."""
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0  # a malformed weight must not promote the entry
        ranked.append((-quality, position, tag.strip().split("-")[0].lower()))
    ranked.sort()
    return [(-q, p, t) for q, p, t in ranked]


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """``requested`` when supported, else the best supported Accept-Language entry, else French."""
    if requested and requested.lower() in LANGUAGES:
        return requested.lower()
    for quality, _, tag in _ranked(accept_language or ""):
        if quality > 0 and tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def notice_for(language: str, notices: Mapping[str, str] | None) -> str:
    """The use case's AI notice in ``language``, or the default one (AI Act Art. 50(1))."""
    given = (notices or {}).get(language, "").strip()
    return given or strings(language)["default_notice"]
