"""The assistant service: retrieve → prompt → generate through the gateway → check citations → reply.

Generation goes through the gateway's ``ChatService`` exactly as ``/v1/chat/completions`` does, so the use
case's model allow-list, classification routing, quotas, privacy policy (the conversation's pseudonymisation
vault), usage accounting and the model call's audit event all apply. The assistant adds one event of its
own per answer (``assistant.chat``: grounded or not, counts, never content), including the refusals it
gives without calling a model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from souverain.assistant.answer_stream import AnswerFilter
from souverain.assistant.citations import Citation, cite, repeats, substance
from souverain.assistant.confidence import RetrievalConfidence
from souverain.assistant.conversations import Answer, ConversationRef, ConversationStore, Owner
from souverain.assistant.coverage import unmentioned
from souverain.assistant.handover import HandoverStore, Status, Ticket
from souverain.assistant.injection import strip_instructions
from souverain.assistant.language import Language
from souverain.assistant.notice import notice_for
from souverain.assistant.places import FRANCE
from souverain.assistant.prompt import DEFAULT_SOURCE_CHARS, Turn, build_messages
from souverain.assistant.refusal import Refusals
from souverain.assistant.reply import Provenance, Reply
from souverain.assistant.situation import abroad_first
from souverain.assistant.translation import QuestionTranslator
from souverain.events import Event, EventSink, emit_or_refuse
from souverain.gateway.chat import ChatService, ChatStream
from souverain.governance.principal import Principal
from souverain.knowledge.types import Retriever, Scope, SearchHit, SearchRequest
from souverain.pipeline.call import Call
from souverain.privacy.subject_record import SubjectRecorder
from souverain.privacy.subjects import event_subject
from souverain.privacy.vault import vault_scope
from souverain.protocol.chat import ChatCompletionRequest
from souverain.routing.router import Target

StreamEvent = tuple[str, dict[str, Any]]  # (meta | delta | done, data)
MAX_QUERY_CHARS = 2000  # the knowledge base's limit on a query


@dataclass(frozen=True)
class AssistantOptions:
    """How the assistant retrieves and generates (settings-like; the defaults suit the embedded model)."""

    model: str = "chat-default"  # the chat alias the assistant calls; the use case must allow it
    collections: tuple[str, ...] = ()  # searched when a question names none; empty: every readable one
    k: int = 8  # hits retrieved
    # characters of each source's best sentences, best source first (one entry per source given); the
    # prompt is read at 70-75 tokens/s on two cores (prebuilt llama.cpp), so this sets the time to first token
    source_chars: tuple[int, ...] = DEFAULT_SOURCE_CHARS
    # each passage is retrieved with the rest of its section up to this many characters, for the excerpt to
    # choose from: a section's opening line often defers to subsections that hold the figures
    context_chars: int = 1200  # the default of [assistant] context_chars
    max_tokens: int = 350
    temperature: float = 0.0
    history_turns: int = 1  # earlier exchanges replayed to the model
    followup_words: int = 6  # a question this short is searched together with the previous one
    hold_until_cited: bool = False  # streams: show nothing before the first valid citation
    # questions in these languages are refused when they name a country, or (in the pages' language) a town
    # or body, that no source mentions (before the model is called; ``coverage``) or that no source the
    # answer cites mentions (after it)
    name_check_languages: tuple[str, ...] = ("fr", "de", "en", "lb")
    pages_language: str = "fr"
    home_countries: frozenset[str] = FRANCE  # the pages' own country: named by every page
    # questions in these languages are translated into the pages' language by the model before the search,
    # which looks for both (``translation``). Off by default: with the bundled 1.5B model, English answers
    # got worse although the right pages were found more often (docs/benchmarks.md, Question translation)
    translate_languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """What a citizen asked, in which language, in which conversation."""

    message: str
    language: Language
    conversation_id: str | None = None
    collection: str | None = None


@dataclass
class Exchange:
    """Everything decided before the model is called."""

    principal: Principal
    request_id: str
    question: Question
    owner: Owner
    conversation: ConversationRef
    history: list[Turn]
    sources: list[SearchHit] = field(default_factory=list)
    low_confidence: bool = False
    notice: str | None = None


def retrieval_query(message: str, history: Sequence[Turn], followup_words: int) -> str:
    """The search query: the question, with the previous one when it is a short follow-up."""
    if history and len(message.split()) < followup_words:
        combined = f"{history[-1].question} {message}"
        if len(combined) <= MAX_QUERY_CHARS:
            return combined
    return message


class AssistantService:
    """Grounded answers, streamed or not, and hand-over to a person."""

    def __init__(
        self,
        retriever: Retriever,
        chat: ChatService,
        conversations: ConversationStore,
        handovers: HandoverStore,
        events: EventSink,
        subjects: SubjectRecorder,
        options: AssistantOptions | None = None,
        confidence: RetrievalConfidence | None = None,
        refusals: Refusals | None = None,
        translator: QuestionTranslator | None = None,
    ) -> None:
        self.retriever = retriever
        self.chat = chat
        self.conversations = conversations
        self.handovers = handovers
        self.events = events
        self.subjects = subjects
        self.options = options or AssistantOptions()
        self.confidence = confidence or RetrievalConfidence()
        self.refusals = refusals or Refusals()
        options = self.options
        self.translator = translator or QuestionTranslator(chat, options.model, options.translate_languages)

    async def answer(self, principal: Principal, request_id: str, question: Question) -> Reply:
        """One complete answer."""
        exchange = await self._prepare(principal, request_id, question)
        if exchange.low_confidence:
            reply = self._finish(exchange, "", refused=True, target=None)
        else:
            request, call = self._open_call(exchange, stream=False)
            result = await self.chat.complete(request, call)
            checked = AnswerFilter(len(exchange.sources))
            checked.feed(_message_text(result.body))
            checked.flush()
            reply = self._finish(exchange, checked.text, checked.refused, result.target)
        await self._record(exchange, reply)
        return reply

    async def open_stream(
        self, principal: Principal, request_id: str, question: Question, hold_until_cited: bool | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Retrieve and open the model's stream (refusals raise here, before any byte), then the events."""
        exchange = await self._prepare(principal, request_id, question)
        stream = None
        if not exchange.low_confidence:
            request, call = self._open_call(exchange, stream=True)
            stream = await self.chat.stream(request, call)
        hold = self.options.hold_until_cited if hold_until_cited is None else hold_until_cited
        return self._events(exchange, stream, hold)

    async def hand_over(
        self,
        principal: Principal,
        request_id: str,
        conversation_id: str | None,
        language: Language,
        question: str,
    ) -> Ticket:
        """A ticket in the staff queue for this conversation (started if it does not exist yet)."""
        owner = Owner.of(principal)
        conversation = await asyncio.to_thread(self.conversations.open, owner, conversation_id, language)
        subjects = await self._link_subjects(principal, conversation, question)
        ticket = await asyncio.to_thread(self.handovers.create, owner, conversation, language, question)
        details = {"language": language}
        await self._emit(
            principal, request_id, "assistant.handover", details, subject=event_subject(subjects), status=201
        )
        return ticket

    async def _link_subjects(
        self, principal: Principal, conversation: ConversationRef, text: str
    ) -> list[str]:
        """Link the people ``text`` identifies to the conversation (as the chat path does), so that their
        access and erasure requests find it and its tickets; refuses (503) when detection fails."""
        use_case = principal.use_case
        assert use_case is not None  # Owner.of refused keys without one
        scope = vault_scope(use_case.tenant_id, use_case.id)
        keep_days = use_case.retention_days
        return await self.subjects.link(scope, conversation.conversation_id, text, keep_days)

    async def queue(self, principal: Principal, request_id: str, status: Status | None) -> list[Ticket]:
        """The staff queue: a tenant's staff see their tenant's tickets, platform staff every ticket."""
        tickets = await asyncio.to_thread(self.handovers.staff_queue, principal.tenant_id, status)
        await self._emit(principal, request_id, "assistant.handover.list", {"tickets": len(tickets)})
        return tickets

    async def purge(self, request_id: str) -> int:
        """Delete the conversations past their retention, recorded as an event when any went."""
        removed = await asyncio.to_thread(self.conversations.purge_expired)
        if removed:
            details = {"conversations": removed}
            event = Event("assistant.purge", "success", request_id, actor="retention", details=details)
            await emit_or_refuse(self.events, event)
        return removed

    async def _prepare(self, principal: Principal, request_id: str, question: Question) -> Exchange:
        owner = Owner.of(principal)
        if self.conversations.purge_due():
            await self.purge(request_id)
        conversation, history = await asyncio.to_thread(self._load, owner, question)
        exchange = Exchange(principal, request_id, question, owner, conversation, history)
        query = retrieval_query(question.message, history, self.options.followup_words)
        translation = await self.translator.translate(principal, request_id, query, question.language)
        search = self._search(exchange, translation.query(MAX_QUERY_CHARS))
        hits = await asyncio.to_thread(self.retriever.search, self._scope(principal), search)
        hits = abroad_first(question.message, hits, self.options.home_countries)
        exchange.sources = self.confidence.sources(hits, len(self.options.source_chars))
        sources = exchange.sources
        exchange.low_confidence = self.confidence.is_low(sources) or self._names_missing(exchange, sources)
        if not conversation.answered:
            assert principal.use_case is not None  # Owner.of checked it
            exchange.notice = notice_for(principal.use_case.transparency_notice, question.language)
        return exchange

    def _names_missing(self, exchange: Exchange, sources: Sequence[SearchHit]) -> bool:
        """Whether the question names a country or (in the pages' language) a town or body that none of
        ``sources`` mentions, in the languages this is checked in."""
        question, options = exchange.question, self.options
        if question.language not in options.name_check_languages:
            return False
        language, home = question.language, options.home_countries
        return bool(unmentioned(question.message, sources, language, options.pages_language, home))

    def _load(self, owner: Owner, question: Question) -> tuple[ConversationRef, list[Turn]]:
        conversation = self.conversations.open(owner, question.conversation_id, question.language)
        return conversation, self.conversations.history(conversation, self.options.history_turns)

    def _scope(self, principal: Principal) -> Scope:
        use_case = principal.use_case
        assert use_case is not None
        return Scope(
            tenant=use_case.tenant, use_case=use_case.name, classification=use_case.classification_ceiling
        )

    def _search(self, exchange: Exchange, query: str) -> SearchRequest:
        question = exchange.question
        collections = (question.collection,) if question.collection else self.options.collections
        return SearchRequest(
            query=query,
            collections=collections,
            k=self.options.k,
            language=question.language,
            context_chars=self.options.context_chars,
        )

    def _open_call(self, exchange: Exchange, stream: bool) -> tuple[ChatCompletionRequest, Call]:
        """The chat request and the gateway call for it (the conversation's vault for personal data)."""
        options = self.options
        model = self.chat.router.resolve(options.model, "chat")
        messages = build_messages(
            exchange.question.message,
            exchange.sources,
            exchange.question.language,
            exchange.history,
            options.source_chars,
        )
        body = {
            "model": options.model,
            "messages": messages,
            "max_tokens": min(options.max_tokens, model.max_output_tokens),
            "temperature": options.temperature,
            "stream": stream,
        }
        request = ChatCompletionRequest.model_validate(body)
        call = self.chat.open(request, exchange.principal, exchange.request_id, None)
        call.notes["conversation_id"] = exchange.conversation.conversation_id
        return request, call

    def _finish(self, exchange: Exchange, text: str, refused: bool, target: Target | None) -> Reply:
        """The reply: the checked answer if it cites a source, else the plain refusal and a person offered."""
        citations = tuple(cite(text, exchange.sources))
        reason = _not_grounded(text, citations, refused, target, exchange.sources)
        if reason is None and self._names_missing(exchange, [exchange.sources[c.n - 1] for c in citations]):
            # "the opening hours of the Strasbourg town hall [1]" citing a page on elections, when another
            # source named Strasbourg in passing
            reason = "name_not_in_cited_sources"
        grounded = reason is None
        language = exchange.question.language
        return Reply(
            conversation_id=exchange.conversation.conversation_id,
            answer=text.strip() if grounded else self.refusals.not_answered(language),
            language=language,
            citations=citations if grounded else (),
            notice=exchange.notice,
            grounded=grounded,
            handover_offered=not grounded,
            provenance=Provenance.of(target, self.options.model),
            reason=reason,
        )

    async def _events(
        self, exchange: Exchange, stream: ChatStream | None, hold: bool
    ) -> AsyncIterator[StreamEvent]:
        yield "meta", self._meta(exchange)
        if stream is None:
            reply = self._finish(exchange, "", refused=True, target=None)
            yield "delta", {"text": reply.answer}
        else:
            answer = AnswerFilter(len(exchange.sources), hold)
            try:
                async for chunk in stream.chunks:
                    if text := answer.feed(_delta_text(chunk)):
                        yield "delta", {"text": text}
            finally:
                await _aclose(stream.chunks)
            if tail := answer.flush():
                yield "delta", {"text": tail}
            reply = self._finish(exchange, answer.text, answer.refused, stream.target)
            if not reply.grounded and not answer.shown:
                yield "delta", {"text": reply.answer}
        await self._record(exchange, reply)
        yield "done", reply.as_dict()

    def _meta(self, exchange: Exchange) -> dict[str, Any]:
        sources = [] if exchange.low_confidence else exchange.sources
        return {
            "conversation_id": exchange.conversation.conversation_id,
            "notice": exchange.notice,
            "sources": [
                {"n": n, "title": hit.title, "url": hit.url} for n, hit in enumerate(sources, start=1)
            ],
        }

    async def _record(self, exchange: Exchange, reply: Reply) -> None:
        """The answer's event (fail closed), then the exchange in the conversation."""
        shown = [] if exchange.low_confidence else exchange.sources  # what the model was given
        details = {
            "grounded": reply.grounded,
            "reason": reply.reason,
            "language": reply.language,
            "sources": len(shown),
            "citations": len(reply.citations),
            "instructions_removed": sum(strip_instructions(hit.text)[1] for hit in shown),
            "first_answer": reply.notice is not None,
        }
        provenance = reply.provenance
        await self._emit(exchange.principal, exchange.request_id, "assistant.chat", details, provenance)
        citations = [c.as_dict() for c in reply.citations]
        answer = Answer(reply.answer, citations, reply.grounded)
        question = exchange.question
        await asyncio.to_thread(
            self.conversations.add_exchange,
            exchange.conversation,
            question.message,
            question.language,
            answer,
        )

    async def _emit(
        self,
        principal: Principal,
        request_id: str,
        action: str,
        details: dict[str, Any],
        provenance: Provenance | None = None,
        subject: str | None = None,
        status: int = 200,
    ) -> None:
        use_case = principal.use_case
        event = Event(
            action=action,
            outcome="success",
            request_id=request_id,
            actor=principal.key_prefix,
            subject=subject,
            tenant=use_case.tenant if use_case else None,
            use_case=use_case.name if use_case else None,
            purpose=use_case.purpose if use_case else None,
            model=provenance.alias if provenance else None,
            status=status,
            details=details,
            served_model=provenance.model if provenance else None,
            weights_sha256=provenance.weights_sha256 if provenance else None,
        )
        await emit_or_refuse(self.events, event)


# letters and digits an answer must say beyond its citations and the sources' titles and headings: the 1.5B
# model answers figures tersely ("86 € [1]", "14 jours [2]"); 20 letters refused 11 of 37 such answers
MIN_SUBSTANCE = 2
MAX_REPEATS = 3  # a sentence said this often is a model in a loop (seen with the 1.5B model in German)


def _not_grounded(
    text: str,
    citations: Sequence[Citation],
    refused: bool,
    target: Target | None,
    sources: Sequence[SearchHit],
) -> str | None:
    """Why an answer is not grounded, or None when it is."""
    if target is None:
        return "low_confidence"
    if refused:
        return "no_answer"
    if not citations:
        return "no_valid_citation"
    if substance(text, sources) < MIN_SUBSTANCE or repeats(text) >= MAX_REPEATS:
        return "no_substance"
    return None


def _message_text(body: dict[str, Any]) -> str:
    content = body["choices"][0]["message"].get("content")
    return content if isinstance(content, str) else ""


def _delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices") or ()
    content = choices[0].get("delta", {}).get("content") if choices else None
    return content if isinstance(content, str) else ""


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
