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
class RequestRef:
    """A request the subject's audit events name, as its usage record knows it.

    The request id alone does not designate one request (a client may choose it, and two tenants may
    choose the same one): it is only ever matched together with the tenant, use case and key."""

    request_id: str
    tenant: str | None
    use_case: str | None
    key_prefix: str | None
    shared: bool = False  # the request was about other people too: its records are theirs as well


@dataclass(frozen=True)
class Subject:
    """The person's subject identifiers, the conversations they appear in, and their requests.

    ``by_identifier`` says whether the requester gave the person's identifier itself (a matricule, an
    e-mail address...) rather than a pseudonymous ``subj_`` identifier: only then may an export hold
    clear values, and only those of that identifier."""

    ids: tuple[str, ...]
    conversations: tuple[Conversation, ...] = ()
    requests: tuple[RequestRef, ...] = field(default=(), repr=False)
    by_identifier: bool = False


def is_pseudonymous(query: str) -> bool:
    """Whether ``query`` names the subject by a pseudonymous identifier (``subj_...``)."""
    return is_subject_id(query.strip())


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
