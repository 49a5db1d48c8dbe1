"""Verification of the whole trail: every hash, the chain, each checkpoint's root and signature.

Events are read once, in sequence order, and checked as they stream past: the personal fields against
their keyed digests, the leaf and entry hashes against the content, the link to the previous event, and
at each checkpoint's size the tree root (kept as a frontier, so a million events need no extra memory).
The first inconsistency stops the scan and is named with what most plausibly happened to it:

- ``edited``: an event's content or hashes changed (or a span rewritten with fresh hashes, which only
  the checkpoints reveal);
- ``deleted``: a sequence number is missing, or an event is chained to one no longer in the trail;
- ``inserted``: an event the chain skips (its successor is chained to its predecessor);
- ``reordered``: an event is chained to one stored after it;
- ``truncated``: the trail was cut back before a signed checkpoint (and possibly appended to again);
- ``checkpoint``: a checkpoint whose signature does not hold.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Text, cast, func, select

from souverain.audit import canonical, merkle
from souverain.audit.checkpoints import Checkpoint, origin_of
from souverain.audit.keys import AuditKeys
from souverain.audit.models import EVENTS
from souverain.audit.store import AuditStore

CLEARING_ACTIONS = ("audit.purge", "gdpr.erase")
"""Actions whose events may record personal fields cleared (under ``CLEARED_KEY`` in their details)."""
CLEARED_KEY = "cleared_seq_ranges"

_JSON = ("entity_types", "details")


def _scanned(dialect: str) -> list[Any]:
    """The columns verification reads: JSON as text (parsed by orjson, several times faster), and on
    SQLite the time as its stored text (see ``canonical.format_time``)."""
    columns: list[Any] = []
    for column in EVENTS.c:
        if column.name in ("content", "purged_at"):
            continue
        raw = column.name in _JSON or (column.name == "created_at" and dialect == "sqlite")
        columns.append(cast(column, Text).label(column.name) if raw else column)
    return columns


@dataclass(frozen=True)
class Finding:
    """The first inconsistency: what happened, to which event, explained."""

    kind: str
    seq: int
    message: str


@dataclass
class Report:
    """The outcome of a verification."""

    events: int = 0
    head: str = canonical.GENESIS
    checkpoints: int = 0
    sources: list[str] = field(default_factory=list)
    finding: Finding | None = None

    @property
    def intact(self) -> bool:
        return self.finding is None


class _Lookup:
    """Queries used only to explain a failure (each on its own connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seq_of_entry(self, entry_hash: str) -> int | None:
        query = select(EVENTS.c.seq).where(EVENTS.c.entry_hash == entry_hash).limit(1)
        with self.engine.connect() as connection:
            return connection.scalar(query)

    def chained_after(self, seq: int, entry_hash: str) -> bool:
        """Whether event ``seq`` is chained to ``entry_hash``."""
        with self.engine.connect() as connection:
            prev = connection.scalar(select(EVENTS.c.prev_hash).where(EVENTS.c.seq == seq))
        return prev == entry_hash

    def first_written_after(self, lo: int, hi: int, checkpoint: Checkpoint) -> int | None:
        query = select(func.min(EVENTS.c.seq)).where(
            EVENTS.c.seq.between(lo, hi), EVENTS.c.created_at > checkpoint.moment
        )
        with self.engine.connect() as connection:
            found: int | None = connection.scalar(query)
        return found


def _cleared_ranges(connection: Connection) -> list[tuple[int, int]]:
    """The sequence ranges whose personal fields purges and erasures recorded clearing, merged."""
    query = select(EVENTS.c.details).where(EVENTS.c.action.in_(CLEARING_ACTIONS))
    ranges = sorted(
        (int(item[0]), int(item[1]))
        for details in connection.scalars(query)
        for item in (details or {}).get(CLEARED_KEY, [])
    )
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


class _Scan:
    """The state carried from one event to the next."""

    def __init__(self, keys: AuditKeys, lookup: _Lookup, checkpoints: Sequence[Checkpoint]) -> None:
        self.keys = keys
        self.lookup = lookup
        self.expected = 1
        self.prev = canonical.GENESIS
        self.frontier = merkle.Frontier()
        self.pending = deque(sorted(checkpoints, key=lambda c: c.tree_size))
        self.last_good = 0
        self.checked = 0
        self.cleared: list[tuple[int, int]] = []
        self.digests: dict[tuple[str, str], str] = {}

    def start(self) -> Finding | None:
        """Check the checkpoints of the empty tree."""
        return self._checkpoints_at(0)

    def row(self, row: Mapping[Any, Any]) -> Finding | None:
        """Check the next event; the first problem found is returned."""
        seq = row["seq"]
        if seq != self.expected:
            return self._missing(seq)
        problem = self._personal(row)
        leaf = merkle.leaf_hash(canonical.leaf_bytes(row)).hex()
        intact = (
            leaf == row["leaf_hash"] and canonical.entry_hash(row["prev_hash"], leaf) == row["entry_hash"]
        )
        if row["prev_hash"] != self.prev or not intact or problem:
            return self._diagnose(row, intact, problem)
        self.frontier.append(bytes.fromhex(leaf))
        self.prev = row["entry_hash"]
        self.expected += 1
        return self._checkpoints_at(seq)

    def finish(self) -> Finding | None:
        """After the last event: a checkpoint larger than the trail means it was cut back."""
        if self.pending:
            return self._diverged(self.pending[0], self.expected - 1)
        return None

    def _digest(self, name: str, value: str) -> str:
        """The personal digest, remembered: the same actors and subjects recur in many events."""
        found = self.digests.get((name, value))
        if found is None:
            if len(self.digests) > 100_000:
                self.digests.clear()
            found = self.digests[(name, value)] = self.keys.personal_digest(name, value)
        return found

    def _personal(self, row: Mapping[Any, Any]) -> str | None:
        for name in canonical.PERSONAL_FIELDS:
            value, digest = row[name], row[f"{name}_digest"]
            if value is not None and digest != self._digest(name, value):
                return f"its {name} does not match the digest the chain commits to"
            if value is None and digest is not None and not self._covered(row["seq"]):
                return f"its {name} was removed without a purge or erasure record"
        return None

    def _covered(self, seq: int) -> bool:
        index = bisect.bisect_right(self.cleared, (seq, 2**63)) - 1  # the last range starting at or before
        return index >= 0 and self.cleared[index][0] <= seq <= self.cleared[index][1]

    def _missing(self, seq: int) -> Finding:
        first = self.expected
        gap = f"event {first} is" if seq == first + 1 else f"events {first}..{seq - 1} are"
        after = f"event {first - 1} is followed by event {seq}" if first > 1 else f"the trail starts at {seq}"
        return Finding("deleted", first, f"{gap} missing: {after}")

    def _diagnose(self, row: Mapping[Any, Any], intact: bool, problem: str | None) -> Finding:
        seq = row["seq"]
        if row["prev_hash"] != self.prev:
            target = self.lookup.seq_of_entry(row["prev_hash"])
            if target is not None and target > seq:
                return Finding("reordered", seq, f"event {seq} is chained after event {target}, stored later")
            if target is not None and target < seq - 1:
                span = (
                    f"event {target + 1} is"
                    if target + 1 == seq - 1
                    else f"events {target + 1}..{seq - 1} are"
                )
                return Finding("inserted", target + 1, f"{span} not in the chain: {seq} follows {target}")
            if seq == 1 or not intact:
                return Finding("edited", seq, f"event {seq}'s hashes do not match its content")
            return Finding(
                "deleted",
                seq,
                f"event {seq} is chained to an event that is no longer in the trail: an event was deleted "
                f"here and the later ones renumbered (or event {seq - 1} was rewritten)",
            )
        if self.lookup.chained_after(seq + 1, self.prev):
            return Finding("inserted", seq, f"event {seq} is not in the chain: {seq + 1} follows {seq - 1}")
        return Finding(
            "edited", seq, f"event {seq} was edited: {problem or 'its content no longer matches its hash'}"
        )

    def _checkpoints_at(self, size: int) -> Finding | None:
        while self.pending and self.pending[0].tree_size == size:
            checkpoint = self.pending.popleft()
            if checkpoint.root_hash != self.frontier.root().hex() or checkpoint.chain_head != self.prev:
                return self._diverged(checkpoint, size)
            self.last_good = size
            self.checked += 1
        return None

    def _diverged(self, checkpoint: Checkpoint, upto: int) -> Finding:
        lo, size = self.last_good + 1, checkpoint.tree_size
        where = f"the checkpoint of {size} events signed at {checkpoint.time} ({checkpoint.source})"
        late = self.lookup.first_written_after(lo, upto, checkpoint) if upto >= lo else None
        if late is not None:
            return Finding(
                "truncated",
                late,
                f"event {late} was written after {where}, which covers it: the trail was cut back and "
                f"appended to again (events {lo}..{size} no longer match the signed root)",
            )
        if upto < size:
            return Finding(
                "truncated", upto + 1, f"the trail ends at event {upto} but {where} covers {size} events"
            )
        return Finding(
            "edited", lo, f"events {lo}..{size} do not match the root of {where}: they were rewritten"
        )


def _forged(checkpoints: Sequence[Checkpoint], keys: AuditKeys, origin: str) -> Finding | None:
    for checkpoint in checkpoints:
        if checkpoint.origin != origin or not checkpoint.signature_valid(keys):
            return Finding(
                "checkpoint",
                checkpoint.tree_size,
                f"the checkpoint of {checkpoint.tree_size} events from {checkpoint.source} is not signed "
                "by this installation's key: it was forged or altered",
            )
    return None


def _scan_rows(connection: Connection, scan: _Scan) -> Finding | None:
    query = select(*_scanned(connection.dialect.name)).order_by(EVENTS.c.seq)
    result = connection.execution_options(yield_per=5000).execute(query)
    names = list(result.keys())
    for row in result:
        values = dict(zip(names, row, strict=True))
        for name in _JSON:
            values[name] = orjson.loads(values[name])
        finding = scan.row(values)
        if finding is not None:
            return finding
    return scan.finish()


def verify(store: AuditStore, checkpoints: Sequence[Checkpoint]) -> Report:
    """Check the whole trail against ``checkpoints`` (stored and exported ones)."""
    report = Report(sources=sorted({c.source.split(",")[0] for c in checkpoints}))
    report.finding = _forged(checkpoints, store.keys, origin_of(store))
    if report.finding is not None:
        return report
    scan = _Scan(store.keys, _Lookup(store.database.engine), checkpoints)
    with store.database.engine.connect() as connection:
        scan.cleared = _cleared_ranges(connection)
        report.finding = scan.start() or _scan_rows(connection, scan)
    report.events, report.head, report.checkpoints = scan.expected - 1, scan.prev, scan.checked
    return report
