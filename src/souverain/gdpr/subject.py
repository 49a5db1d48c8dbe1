"""Who an access or erasure request is about: from what the requester gives to pseudonymous identifiers.

The requester gives a pseudonymous subject identifier (``subj_…``) or an identifier of the person that the
privacy layer recognises (a matricule, an e-mail address, a national number, an IBAN, a phone number);
the latter is turned into its subject identifier with the same key the request path uses, so what was
recorded about the person is found without the identifier ever having been stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from souverain.errors import InvalidRequest
from souverain.privacy.detector import Detector
from souverain.privacy.subject_links import Conversation
from souverain.privacy.subjects import IDENTIFYING, SubjectKeys, is_subject_id

_MAX_QUERY = 200


@dataclass(frozen=True)
class Subject:
    """The person's subject identifiers, the conversations they appear in, and their requests' ids."""

    ids: tuple[str, ...]
    conversations: tuple[Conversation, ...] = ()
    request_ids: tuple[str, ...] = field(default=(), repr=False)


def subject_ids(query: str, keys: SubjectKeys, detector: Detector) -> list[str]:
    """The subject identifiers ``query`` designates; ``InvalidRequest`` when it designates nobody."""
    text = query.strip()
    if not text or len(text) > _MAX_QUERY:
        raise InvalidRequest("Give a subject identifier, a matricule or an e-mail address.", param="subject")
    if is_subject_id(text):
        return [text]
    found = [e for e in detector.analyze(text) if e.type in IDENTIFYING and e.end - e.start == len(text)]
    if not found:
        raise InvalidRequest(
            "The subject was not recognised: give a subject identifier (subj_...), a valid matricule, "
            "an e-mail address, a national number, an IBAN or a phone number.",
            param="subject",
            code="unknown_subject",
        )
    return keys.subjects_of((e.value(text), e.type) for e in found)
