"""Signed checkpoints: the tree's size, root and chain head at a moment, signed with Ed25519.

A checkpoint is written every ``checkpoint_every`` events or ``checkpoint_interval_s`` seconds (the
application runs ``Checkpointer.maybe_checkpoint`` in the background) and on demand (``souverain audit
checkpoint``). Each is stored in ``audit_checkpoints`` and copied to the independent stores configured
(``souverain.audit.exports``): whoever rewrites the database cannot rewrite those copies, nor sign.

The stored row also keeps the tree's frontier, so the next checkpoint extends the tree from there instead
of rehashing every leaf; the frontier is trusted only after its root matches the signed one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select

from souverain.audit import canonical, merkle, verify_proof
from souverain.audit.keys import AuditKeys
from souverain.audit.models import CHECKPOINTS, EVENTS
from souverain.audit.store import AuditStore
from souverain.errors import Conflict
from souverain.settings import AuditSettings
from souverain.storage.orm import ensure_instance


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the audit tree; ``source`` says where it was read from."""

    origin: str
    tree_size: int
    root_hash: str
    chain_head: str
    time: str  # canonical.format_time of the moment it was signed
    key_id: str
    signature: str
    source: str = field(default="database", compare=False)
    frontier: tuple[str, ...] = field(default=(), compare=False)

    def as_json(self) -> dict[str, Any]:
        """The checkpoint as exported and as printed in proofs (no frontier, no source)."""
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "chain_head": self.chain_head,
            "time": self.time,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> Checkpoint:
        """A checkpoint read back from an export."""
        return cls(**{k: data[k] for k in cls.signed_fields()}, source=source)

    @classmethod
    def from_row(cls, row: Any, source: str = "database") -> Checkpoint:
        """A checkpoint from an ``audit_checkpoints`` row."""
        return cls(
            origin=row.origin,
            tree_size=int(row.tree_size),
            root_hash=row.root_hash,
            chain_head=row.chain_head,
            time=canonical.format_time(row.created_at),
            key_id=row.key_id,
            signature=row.signature,
            source=source,
            frontier=tuple(row.frontier or ()),
        )

    @staticmethod
    def signed_fields() -> tuple[str, ...]:
        return ("origin", "tree_size", "root_hash", "chain_head", "time", "key_id", "signature")

    def message(self) -> bytes:
        """The bytes the signature covers (shared with the independent verifier)."""
        return verify_proof.checkpoint_message(self.as_json())

    def signature_valid(self, keys: AuditKeys) -> bool:
        """Whether the signature is valid for the installation's key."""
        return keys.signature_valid(self.message(), self.signature)

    @property
    def moment(self) -> datetime:
        return datetime.strptime(self.time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Exporter(Protocol):
    """An independent store of checkpoints."""

    name: str

    def export(self, checkpoint: Checkpoint) -> None:
        """Copy ``checkpoint`` durably, or raise."""

    def read(self) -> list[Checkpoint]:
        """Every checkpoint copied so far."""

    def close(self) -> None:
        """Release what the exporter holds open."""


def origin_of(store: AuditStore) -> str:
    """The name of this installation's log, part of every signed checkpoint."""
    with store.database.sessions() as session:
        return f"souverain-audit:{ensure_instance(session).installation_id}"


def stored_checkpoints(store: AuditStore) -> list[Checkpoint]:
    """Every checkpoint in the database, smallest tree first."""
    query = select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size, CHECKPOINTS.c.id)
    with store.database.engine.connect() as connection:
        return [Checkpoint.from_row(row) for row in connection.execute(query)]


class Checkpointer:
    """Signs checkpoints of the store's tree and copies them to the exporters."""

    def __init__(
        self, store: AuditStore, settings: AuditSettings, exporters: Sequence[Exporter] = ()
    ) -> None:
        self.store = store
        self.every = settings.checkpoint_every
        self.interval_s = settings.checkpoint_interval_s
        self.exporters = list(exporters)
        self._origin: str | None = None

    def maybe_checkpoint(self) -> Checkpoint | None:
        """Write a checkpoint if enough events arrived since the last one, or it is old; else None."""
        size, _ = self.store.head()
        latest = self._latest()
        done = latest.tree_size if latest else 0
        age = time.time() - latest.moment.timestamp() if latest else float("inf")
        if size > done and (size - done >= self.every or age >= self.interval_s):
            return self.checkpoint()
        return None

    def checkpoint(self) -> Checkpoint:
        """Sign the tree as it is now, store the checkpoint and export it."""
        frontier, head = self._resume(self._latest())
        query = select(EVENTS.c.seq, EVENTS.c.leaf_hash, EVENTS.c.prev_hash, EVENTS.c.entry_hash)
        query = query.where(EVENTS.c.seq > frontier.size).order_by(EVENTS.c.seq)
        with self.store.database.engine.connect() as connection:
            for row in connection.execute(query):
                if row.seq != frontier.size + 1 or row.prev_hash != head:
                    raise Conflict(
                        f"The audit chain does not link at event {row.seq}; no checkpoint was signed. "
                        "Run `souverain audit verify`.",
                        code="audit_chain_broken",
                    )
                frontier.append(bytes.fromhex(row.leaf_hash))
                head = row.entry_hash
        checkpoint = self._sign(frontier, head)
        self._save(checkpoint)
        for exporter in self.exporters:
            exporter.export(checkpoint)
        return checkpoint

    def _latest(self) -> Checkpoint | None:
        query = select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size.desc(), CHECKPOINTS.c.id.desc()).limit(1)
        with self.store.database.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else Checkpoint.from_row(row)

    def _resume(self, latest: Checkpoint | None) -> tuple[merkle.Frontier, str]:
        """The frontier and chain head to extend: the latest checkpoint's, once proven genuine."""
        if latest is None:
            return merkle.Frontier(), canonical.GENESIS
        frontier = merkle.Frontier([bytes.fromhex(h) for h in latest.frontier], latest.tree_size)
        if not latest.signature_valid(self.store.keys) or frontier.root().hex() != latest.root_hash:
            raise Conflict(
                f"The latest stored checkpoint (size {latest.tree_size}) is not genuine; no checkpoint "
                "was signed. Run `souverain audit verify`.",
                code="audit_checkpoint_invalid",
            )
        return frontier, latest.chain_head

    def _sign(self, frontier: merkle.Frontier, head: str) -> Checkpoint:
        if self._origin is None:
            self._origin = origin_of(self.store)
        unsigned = Checkpoint(
            origin=self._origin,
            tree_size=frontier.size,
            root_hash=frontier.root().hex(),
            chain_head=head,
            time=canonical.format_time(datetime.now(UTC)),
            key_id=self.store.keys.key_id,
            signature="",
            frontier=tuple(p.hex() for p in frontier.peaks),
        )
        signature = self.store.keys.sign(unsigned.message())
        return replace(unsigned, signature=signature)

    def _save(self, checkpoint: Checkpoint) -> None:
        values = {k: getattr(checkpoint, k) for k in checkpoint.signed_fields() if k != "time"}
        values.update(created_at=checkpoint.moment, frontier=list(checkpoint.frontier))
        with self.store.writer.begin() as connection:
            connection.execute(insert(CHECKPOINTS), values)
