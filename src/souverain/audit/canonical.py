"""What the chain commits to: the canonical bytes of an event (its Merkle leaf) and the chain link.

The leaf is the event as compact JSON with sorted keys, in which every personal field appears only as its
keyed digest. Retention and erasure can therefore clear a personal value while the leaf, its hash, the
chain and the tree stay exactly as they were. The sequence number is not in the leaf: an event's position
is what the chain (each entry commits to its predecessor) and the tree (the leaf index) attest.

    leaf_hash  = SHA-256(0x00 || leaf)                  (RFC 6962 / 9162 leaf hash)
    entry_hash = SHA-256(prev_entry_hash || leaf_hash)  (the first event's predecessor is 32 zero bytes)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from souverain.errors import InvalidRequest

LEAF_VERSION = 1
GENESIS = "0" * 64
"""The predecessor of the first event."""

PERSONAL_FIELDS = ("actor", "subject")
"""Fields that may identify a person: cleared on schedule; the leaf holds ``<field>_digest`` instead."""

COMMITTED_FIELDS = (
    "action",
    "outcome",
    "status",
    "request_id",
    "actor_digest",
    "subject_digest",
    "tenant",
    "use_case",
    "purpose",
    "model",
    "served_model",
    "weights_sha256",
    "backend",
    "zone",
    "classification",
    "entity_types",
    "prompt_tokens",
    "completion_tokens",
    "request_digest",
    "response_digest",
    "details",
)
"""Columns the leaf holds as stored (besides ``time``, written from ``created_at``, and ``v``)."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


def format_time(moment: datetime | str) -> str:
    """``moment`` in UTC to the microsecond, e.g. ``2025-01-31T08:00:00.000000Z`` (naive means UTC).

    A string is a time as SQLite stores it (``2025-01-31 08:00:00.000000``, UTC): verification reads
    that text as it is, rather than parsing a datetime out of it for every event.
    """
    if isinstance(moment, str):
        return moment.replace(" ", "T", 1) + "Z"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def leaf_bytes(values: Mapping[Any, Any]) -> bytes:
    """The canonical leaf of an event, from its stored column values."""
    document = {name: values[name] for name in COMMITTED_FIELDS}
    document["time"] = format_time(values["created_at"])
    document["v"] = LEAF_VERSION
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def entry_hash(prev_hash: str, leaf_hash_hex: str) -> str:
    """The chain link (hex): SHA-256 of the predecessor's entry hash and this event's leaf hash."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(leaf_hash_hex)).hexdigest()


def normalise_json(value: Any) -> Any:
    """``value`` as plain JSON types, exactly as it reads back from a JSON column (hashes must agree)."""
    try:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except TypeError as exc:
        raise InvalidRequest(f"Audit event details must be JSON-serialisable: {exc}") from None


def check_digest(name: str, value: str | None) -> str | None:
    """``value`` if it is a hex SHA-256 digest (or None); refuses anything else, e.g. content by mistake."""
    if value is not None and not _HEX64.fullmatch(value):
        raise InvalidRequest(f"Audit field {name} must be a lowercase hex SHA-256 digest, never content.")
    return value
