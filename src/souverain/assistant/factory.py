"""Building the assistant from the application's services (called in the app's lifespan)."""

from __future__ import annotations

from souverain.assistant.confidence import RetrievalConfidence
from souverain.assistant.conversations import ConversationStore
from souverain.assistant.handover import HandoverStore
from souverain.assistant.refusal import Refusals
from souverain.assistant.service import AssistantOptions, AssistantService
from souverain.events import EventSink
from souverain.gateway.chat import ChatService
from souverain.knowledge.types import Retriever
from souverain.privacy.sealed_text import TextSealer
from souverain.privacy.subject_record import SubjectRecorder
from souverain.storage.database import Database


def build_assistant(
    database: Database,
    chat: ChatService,
    events: EventSink,
    retriever: Retriever,
    subjects: SubjectRecorder,
    sealer: TextSealer,
    options: AssistantOptions | None = None,
    confidence: RetrievalConfidence | None = None,
    refusals: Refusals | None = None,
) -> AssistantService:
    """The assistant over the application's database, chat service, event sink and knowledge retriever;
    ``subjects`` links the people hand-over questions identify to their conversation; ``sealer`` seals what
    the stores keep of people's words."""
    return AssistantService(
        retriever=retriever,
        chat=chat,
        conversations=ConversationStore(database.sessions, sealer=sealer),
        handovers=HandoverStore(database.sessions, sealer=sealer),
        events=events,
        subjects=subjects,
        options=options,
        confidence=confidence,
        refusals=refusals,
    )
