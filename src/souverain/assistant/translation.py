"""Question translation for retrieval: an English question is translated into the pages' language (French)
by the assistant's own chat model, and the translation is searched together with the question.

The pages are French; an English question shares few words with them, and the multilingual encoder alone
ranks the right page in the first five for about half of such questions. German questions have a glossary
(``knowledge.glossary``); English has one of administrative phrases, off by default for the same reason as
this translation (docs/benchmarks.md, Knowledge retrieval), while the bundled model translates English
questions well (it does German poorly: "Geburtsurkunde" →
"urkunde de naissance"), so the languages translated are a setting. It is off by default: with the bundled
1.5B model, English questions found their page more often but were answered worse (the model refused or
took a figure from the wrong source; docs/benchmarks.md, Question translation).

The translation goes through the gateway like the answer (allow-list, quotas, the privacy pipeline, usage and
the audited model call), so a policy refusal refuses the question. A model that fails or times out only
costs the translation: the question is searched as asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from souverain.errors import RETRIABLE
from souverain.gateway.chat import ChatService
from souverain.governance.principal import Principal
from souverain.protocol.chat import ChatCompletionRequest

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You translate citizens' questions into French. Reply with the French translation only, using the usual "
    "French administrative terms. Do not answer the question."
)
# examples of the task, not taken from any evaluation set; the system prompt and these turns are the same
# for every question, so llama.cpp reuses their cached prefix
EXAMPLES = (
    ("How do I get a copy of my marriage certificate?", "Comment obtenir une copie de mon acte de mariage ?"),
    ("Where do I register my change of address when I move?", "Où déclarer mon changement d'adresse ?"),
)
MAX_TOKENS = 60
MAX_CHARS = 300  # a translation longer than this is a model that answered instead: cut
_LINE = re.compile(r"[^\n]+")


def messages(question: str) -> list[dict[str, str]]:
    """The chat messages asking for the French translation of ``question``."""
    turns = [{"role": "system", "content": SYSTEM_PROMPT}]
    for english, french in EXAMPLES:
        turns += [{"role": "user", "content": english}, {"role": "assistant", "content": french}]
    turns.append({"role": "user", "content": question.strip()})
    return turns


def cleaned(reply: str) -> str:
    """The translation's first line, without quotes around it, at most ``MAX_CHARS`` characters."""
    line = _LINE.search(reply)
    text = line.group().strip().strip("\"'«» ") if line else ""
    return text[:MAX_CHARS]


@dataclass(frozen=True)
class Translation:
    """What was searched for a question: the question, and its translation when there is one."""

    question: str
    translated: str = ""

    def query(self, max_chars: int) -> str:
        """The search query: the question followed by its translation (the question alone if both would be
        longer than ``max_chars``)."""
        both = f"{self.question} {self.translated}"
        return both if self.translated and len(both) <= max_chars else self.question


class QuestionTranslator:
    """Translates questions in ``languages`` through the gateway's chat service with ``model``."""

    def __init__(self, chat: ChatService, model: str, languages: Sequence[str]) -> None:
        self.chat = chat
        self.model = model
        self.languages = frozenset(languages)

    async def translate(
        self, principal: Principal, request_id: str, question: str, language: str
    ) -> Translation:
        """``question`` with its French translation (none for another language, or when the model fails)."""
        if language not in self.languages:
            return Translation(question)
        request = ChatCompletionRequest.model_validate(
            {"model": self.model, "messages": messages(question), "max_tokens": MAX_TOKENS, "temperature": 0}
        )
        call = self.chat.open(request, principal, request_id, None)
        try:
            result = await self.chat.complete(request, call)
        except RETRIABLE as exc:  # failed, unavailable or timed out upstream: search the question as asked
            logger.warning("question translation failed (%s); searching it as asked", type(exc).__name__)
            return Translation(question)
        choices = result.body.get("choices") or [{}]
        content = choices[0].get("message", {}).get("content")
        return Translation(question, cleaned(content) if isinstance(content, str) else "")
