"""Proof documents for third parties: an event's inclusion in a signed tree, and the consistency of two
signed trees. ``souverain.audit.verify_proof`` checks them without the rest of souverain."""

from __future__ import annotations

from typing import Any

from souverain.audit import canonical, merkle, verify_proof
from souverain.audit.checkpoints import Checkpoint, stored_checkpoints
from souverain.audit.store import AuditStore
from souverain.errors import Conflict, NotFound


def covering_checkpoint(store: AuditStore, seq: int) -> Checkpoint:
    """The latest stored checkpoint whose tree contains event ``seq``."""
    covering = [c for c in stored_checkpoints(store) if c.tree_size >= seq]
    if not covering:
        raise NotFound(
            f"No checkpoint covers event {seq} yet; write one with `souverain audit checkpoint`.",
            code="no_checkpoint",
        )
    return covering[-1]


def _leaves(store: AuditStore, checkpoint: Checkpoint) -> list[bytes]:
    """The leaf hashes of the checkpoint's tree, refusing if they no longer give its root."""
    hashes = store.leaf_hashes(checkpoint.tree_size)
    if len(hashes) != checkpoint.tree_size or merkle.root(hashes).hex() != checkpoint.root_hash:
        raise Conflict(
            f"The trail no longer matches the checkpoint of {checkpoint.tree_size} events; "
            "run `souverain audit verify`.",
            code="audit_chain_broken",
        )
    return hashes


def inclusion_document(store: AuditStore, seq: int) -> dict[str, Any]:
    """The inclusion proof of event ``seq`` against the latest checkpoint that covers it."""
    row = store.event(seq)
    if row is None:
        raise NotFound(f"There is no audit event {seq}.", code="no_such_event")
    checkpoint = covering_checkpoint(store, seq)
    leaf = canonical.leaf_bytes(row._mapping)
    if merkle.leaf_hash(leaf).hex() != row.leaf_hash:
        raise Conflict(f"Event {seq} no longer matches its leaf hash; run `souverain audit verify`.")
    hashes = _leaves(store, checkpoint)
    return {
        "format": verify_proof.PROOF_FORMAT,
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": checkpoint.tree_size,
        "leaf": leaf.decode(),
        "leaf_hash": row.leaf_hash,
        "path": [h.hex() for h in merkle.inclusion_proof(hashes, seq - 1)],
        "checkpoint": checkpoint.as_json(),
        "public_key": store.keys.public_key_pem(),
    }


def consistency_document(store: AuditStore, old_size: int) -> dict[str, Any]:
    """The consistency proof from the stored checkpoint of ``old_size`` events to the latest one."""
    checkpoints = stored_checkpoints(store)
    old = next((c for c in reversed(checkpoints) if c.tree_size == old_size), None)
    if old is None or old_size < 1:
        raise NotFound(f"There is no stored checkpoint of {old_size} events.", code="no_checkpoint")
    new = checkpoints[-1]
    hashes = _leaves(store, new)
    return {
        "format": "souverain-audit-consistency-proof/v1",
        "old": old.as_json(),
        "new": new.as_json(),
        "proof": [h.hex() for h in merkle.consistency_proof(hashes, old.tree_size)],
        "public_key": store.keys.public_key_pem(),
    }
