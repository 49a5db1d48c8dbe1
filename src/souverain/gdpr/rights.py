"""Subject access and erasure across every store, each recorded in the audit trail.

An export holds the subject's own records only: their audit events (naming no one else), the usage
records of those requests, their stored conversations with every detected value but the given identifier
masked (``redaction.py``: the texts may name other people, GDPR Art. 15(4)), and of the vaults of their
conversations only the values of the identifier the requester gave. Asked by a pseudonymous identifier
(``subj_...``), it holds no clear value at all: the identifier comes from the trail, and the trail must
not become a way back to the people it names. Erasing one person leaves the others' records theirs: a
shared vault keeps their values, a shared request its usage record, a shared event their identifiers
(``audit/retained.py``).

An export is recorded before it is handed over (if the event cannot be written, nothing is returned). An
erasure removes the subject's records from every source, then clears the personal fields of the subject's
audit events and appends its own ``gdpr.erase`` event in one transaction: the event lists the counts and
the cleared sequence ranges, never the values, so ``souverain audit verify`` still passes afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from souverain.audit.canonical import format_time
from souverain.audit.retention import compact, seq_ranges
from souverain.audit.store import AuditStore, append_records
from souverain.audit.verify import CLEARED_KEY
from souverain.events import Event
from souverain.gdpr.audit_records import ERASED_COLUMNS, clear_events_about, events_about
from souverain.gdpr.sources import SubjectSource
from souverain.gdpr.subject import RequestRef, Subject, is_pseudonymous, subject_ids
from souverain.privacy.detector import Detector
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.subjects import SubjectKeys, event_subject

EXPORT_ACTION = "gdpr.export"
ERASE_ACTION = "gdpr.erase"


@dataclass
class Erasure:
    """What an erasure removed: records per store, audit events cleared, and its own event."""

    subject_ids: list[str]
    removed: dict[str, int]
    audit_events: int
    cleared_ranges: list[list[int]]
    seq: int


class SubjectRights:
    """Answers access and erasure requests (blocking database work: call it off the event loop)."""

    def __init__(
        self,
        store: AuditStore,
        keys: SubjectKeys,
        links: SubjectLinks,
        detector: Detector,
        sources: Sequence[SubjectSource],
    ) -> None:
        self.store = store
        self.keys = keys
        self.links = links
        self.detector = detector
        self.sources = list(sources)

    def resolve(self, query: str) -> tuple[Subject, list[dict[str, Any]]]:
        """The subject ``query`` designates, with its audit events (whose requests lead to usage)."""
        ids = subject_ids(query, self.keys, self.detector)
        events, shared = events_about(self.store.database.engine, ids)
        requests = tuple(dict.fromkeys(_request(event, event["seq"] in shared) for event in events))
        conversations = tuple(self.links.conversations(ids))
        subject = Subject(tuple(ids), conversations, requests, by_identifier=not is_pseudonymous(query))
        return subject, events

    def export(self, query: str, actor: str) -> dict[str, Any]:
        """Everything held about the subject, by store; recorded as a ``gdpr.export`` event first."""
        subject, events = self.resolve(query)
        stores: dict[str, list[dict[str, Any]]] = {"audit_events": events}
        stores.update({source.name: source.export(subject) for source in self.sources})
        counts = {name: len(records) for name, records in stores.items()}
        details = {"records": counts, "conversations": len(subject.conversations)}
        event = self._event(EXPORT_ACTION, actor, details, subject=event_subject(subject.ids))
        seq = self.store.append(event)
        return {
            "subject_ids": list(subject.ids),
            "generated_at": format_time(datetime.now(UTC)),
            "export_event": seq,
            "counts": counts,
            "stores": stores,
        }

    def erase(self, query: str, actor: str) -> Erasure:
        """Remove the subject from every store and clear it from the trail; record the erasure."""
        subject, _ = self.resolve(query)
        removed = {source.name: source.erase(subject) for source in self.sources}
        with self.store.writing() as connection:
            seqs = clear_events_about(connection, subject.ids, datetime.now(UTC))
            ranges = seq_ranges(seqs)
            details = {
                "removed": removed,
                "events": len(seqs),
                "fields": list(ERASED_COLUMNS),
                CLEARED_KEY: ranges,
            }
            [seq] = append_records(connection, [self.store.record(self._event(ERASE_ACTION, actor, details))])
        compact(self.store)
        return Erasure(list(subject.ids), removed, len(seqs), ranges, seq)

    @staticmethod
    def _event(action: str, actor: str, details: dict[str, Any], subject: str | None = None) -> Event:
        return Event(
            action=action,
            outcome="success",
            request_id=uuid.uuid4().hex,
            actor=actor,
            subject=subject,
            details=details,
        )


def _request(event: dict[str, Any], shared: bool) -> RequestRef:
    """The request an event records, as its usage record names it (the actor is the key's prefix)."""
    return RequestRef(event["request_id"], event["tenant"], event["use_case"], event["actor"], shared)
