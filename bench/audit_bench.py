"""Audit trail: append throughput on SQLite and PostgreSQL, the audit stage's latency, and verify time.

Measured, for a SQLite file and a throw-away PostgreSQL database (127.0.0.1:5432):

- append throughput: ``AuditStore.append`` one event at a time from one process (latency p50/p99 and
  events/s), and from four processes at once (aggregate events/s; every append is serialised by the
  append lock, so this shows the cost of contention); on SQLite also with ``sqlite_full_sync``;
- the audit stage's added latency: ``await AuditSink.emit(event)`` one at a time (thread hop included),
  which is what each request waits for (target: p50 ≤ 1 ms on SQLite);
- ``souverain audit verify`` on one million events (target: under 60 s): the events are bulk-loaded
  through the store's own sealing path (a valid chain, 10,000 per transaction), a checkpoint is signed,
  then the verification that the command runs is timed.

Run: ``.venv/bin/python -m bench.audit_bench`` (about 6 minutes; ``--quick``: 100,000 events to verify
and fewer appends, about a minute). Results: ``bench/results/audit.json`` and ``.md``
(``audit_quick.*``); ``docs/benchmarks.md`` has the published figures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench import report
from souverain.audit.checkpoints import Checkpointer, stored_checkpoints
from souverain.audit.keys import load_keys
from souverain.audit.sink import AuditSink
from souverain.audit.store import AuditStore, append_records
from souverain.audit.verify import verify
from souverain.events import Event
from souverain.settings import AuditSettings
from souverain.storage.database import Database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def event(i: int) -> Event:
    """A model call's event, as the request path emits it (a pseudonymous subject on every tenth)."""
    return Event(
        action="chat.completion",
        outcome="success" if i % 20 else "refused",
        request_id=uuid.uuid4().hex,
        actor=f"souv_{i % 97:012d}",
        tenant=f"ministry{i % 7}",
        use_case="assistant",
        purpose="Answer citizens' questions about public services",
        model="chat-default",
        served_model="qwen2.5-coder-1.5b-instruct",
        weights_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        backend="embedded",
        zone="on_prem",
        classification="internal",
        status=200 if i % 20 else 403,
        prompt_tokens=100 + i % 400,
        completion_tokens=i % 300,
        entity_types=("EMAIL", "LU_MATRICULE") if i % 3 == 0 else (),
        subject=f"pseudonym-{i % 1000}" if i % 10 == 0 else None,
        details={"duration_ms": round(50 + (i % 1000) / 7, 3)},
    )


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh database URL of ``kind``; the PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'audit-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"souverain_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def open_store(url: str, keys_dir: Path, full_sync: bool = False) -> Iterator[AuditStore]:
    db = Database(url)
    db.migrate()
    store = AuditStore(db, load_keys(AuditSettings(), keys_dir), sqlite_full_sync=full_sync)
    try:
        yield store
    finally:
        store.close()
        db.close()


def latencies(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "p50_ms": round(1000 * statistics.median(ordered), 3),
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 3),
        "events_per_s": round(len(samples) / sum(samples), 1),
    }


def sequential(url: str, keys_dir: Path, n: int, full_sync: bool = False) -> dict[str, float]:
    """Appends one at a time from this process."""
    with open_store(url, keys_dir, full_sync) as store:
        for i in range(20):  # warm-up: connections, statement caches
            store.append(event(i))
        samples = []
        for i in range(n):
            item = event(i)
            started = time.perf_counter()
            store.append(item)
            samples.append(time.perf_counter() - started)
    return latencies(samples)


def sink_latency(url: str, keys_dir: Path, n: int) -> dict[str, float]:
    """``await AuditSink.emit`` one at a time: what each request waits for."""

    async def run() -> list[float]:
        with open_store(url, keys_dir) as store:
            sink = AuditSink(store)
            for i in range(20):
                await sink.emit(event(i))
            samples = []
            for i in range(n):
                item = event(i)
                started = time.perf_counter()
                await sink.emit(item)
                samples.append(time.perf_counter() - started)
            return samples

    return latencies(asyncio.run(run()))


def sink_concurrent(url: str, keys_dir: Path, n: int, clients: int = 64) -> dict[str, float]:
    """``clients`` requests emitting at once, again and again: concurrent events share commits."""

    async def run() -> float:
        with open_store(url, keys_dir) as store:
            sink = AuditSink(store)
            await sink.emit(event(0))
            started = time.perf_counter()
            for first in range(0, n, clients):
                await asyncio.gather(*(sink.emit(event(i)) for i in range(first, first + clients)))
            return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return {"events": n, "clients": clients, "events_per_s": round(n / elapsed, 1)}


def _worker(url: str, keys_dir: str, n: int, start_at: float, results: Any) -> None:
    with open_store(url, Path(keys_dir)) as store:
        store.append(event(0))
        while time.time() < start_at:
            time.sleep(0.005)
        for i in range(n):
            store.append(event(i))
        results.put(time.time())


def parallel(url: str, keys_dir: Path, processes: int, n: int) -> dict[str, float]:
    """``processes`` processes appending ``n`` events each, started together."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 15  # every process has imported and connected by then
    workers = [
        context.Process(target=_worker, args=(url, str(keys_dir), n, start_at, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    ends = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = max(ends) - start_at
    return {
        "processes": processes,
        "events": processes * n,
        "events_per_s": round(processes * n / elapsed, 1),
    }


def bulk_load(store: AuditStore, total: int, batch: int = 10_000) -> float:
    """Seal ``total`` events through the store's own path, ``batch`` per transaction; returns seconds."""
    started = time.perf_counter()
    base = datetime.now(UTC) - timedelta(days=30)
    for first in range(0, total, batch):
        records = [store.record(event(i)) for i in range(first, min(total, first + batch))]
        with store.writing() as connection:
            append_records(connection, records, base + timedelta(seconds=first))
        if first and first % 200_000 == 0:
            print(f"  loaded {first} events", flush=True)
    return time.perf_counter() - started


def verification(kind: str, directory: Path, keys_dir: Path, total: int) -> dict[str, Any]:
    """Bulk-load ``total`` events, sign a checkpoint, time the verification."""
    with database(kind, directory) as url, open_store(url, keys_dir) as store:
        load_s = bulk_load(store, total)
        started = time.perf_counter()
        Checkpointer(store, AuditSettings()).checkpoint()
        checkpoint_s = time.perf_counter() - started
        started = time.perf_counter()
        result = verify(store, stored_checkpoints(store))
        verify_s = time.perf_counter() - started
        assert result.intact, result.finding
        assert result.events == total
        size = Path(url.removeprefix("sqlite:///")).stat().st_size if kind == "sqlite" else None
    return {
        "events": total,
        "load_s": round(load_s, 1),
        "first_checkpoint_s": round(checkpoint_s, 2),
        "verify_s": round(verify_s, 1),
        "verify_events_per_s": round(total / verify_s),
        "database_mib": round(size / 2**20, 1) if size else None,
    }


def markdown(result: dict[str, Any]) -> str:
    """The results as Markdown."""
    rows = []
    for name, figures in result["appends"].items():
        rows.append(
            [
                name,
                str(figures.get("n") or figures.get("events")),
                report.fmt(figures.get("p50_ms"), 3),
                report.fmt(figures.get("p99_ms"), 3),
                report.fmt(figures["events_per_s"], 0),
            ]
        )
    verify_rows = [
        [
            kind,
            f"{v['events']:,}",
            report.fmt(v["load_s"], 1),
            report.fmt(v["first_checkpoint_s"], 2),
            report.fmt(v["verify_s"], 1),
            f"{v['verify_events_per_s']:,}",
        ]
        for kind, v in result["verify"].items()
    ]
    return "\n".join(
        [
            *report.environment_lines(result["meta"]),
            "",
            report.table(["append path", "events", "p50 (ms)", "p99 (ms)", "events/s"], rows),
            "",
            report.table(
                ["verify", "events", "bulk load (s)", "first checkpoint (s)", "verify (s)", "events/s"],
                verify_rows,
            ),
            "",
        ]
    )


def measure(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    keys_dir = directory / "keys-home"
    scale = 0.2 if args.quick else 1.0
    appends: dict[str, Any] = {}
    for kind in ("sqlite", "postgresql"):
        print(f"{kind}: sequential appends", flush=True)
        with database(kind, directory) as url:
            appends[f"{kind}: append, 1 process"] = sequential(url, keys_dir, int(3000 * scale))
        with database(kind, directory) as url:
            appends[f"{kind}: AuditSink.emit (audit stage)"] = sink_latency(url, keys_dir, int(2000 * scale))
        with database(kind, directory) as url:
            appends[f"{kind}: AuditSink.emit, 64 at once"] = sink_concurrent(url, keys_dir, int(6400 * scale))
        if kind == "sqlite":
            with database(kind, directory) as url:
                appends["sqlite: append, full sync"] = sequential(url, keys_dir, int(300 * scale), True)
        print(f"{kind}: four processes", flush=True)
        with database(kind, directory) as url:
            appends[f"{kind}: append, 4 processes"] = parallel(url, keys_dir, 4, int(1000 * scale))
    verified = {}
    for kind, total in (("sqlite", args.events), ("postgresql", args.pg_events)):
        if total:
            print(f"{kind}: loading and verifying {total} events", flush=True)
            verified[kind] = verification(kind, directory, keys_dir, total)
    return {"appends": appends, "verify": verified}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer appends, 100,000 events to verify.")
    parser.add_argument("--events", type=int, default=None, help="Events to verify on SQLite.")
    parser.add_argument("--pg-events", type=int, default=None, help="Events to verify on PostgreSQL.")
    args = parser.parse_args(argv)
    args.events = args.events if args.events is not None else (100_000 if args.quick else 1_000_000)
    args.pg_events = args.pg_events if args.pg_events is not None else (20_000 if args.quick else 200_000)
    load_before = report.load_average()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="souverain-audit-bench-") as directory:
        figures = measure(args, Path(directory))
    result = {
        "meta": report.run_meta(
            "bench.audit_bench",
            argv,
            ("sqlalchemy", "psycopg", "cryptography"),
            load_before,
            wall_s=round(time.monotonic() - started, 1),
        ),
        **figures,
    }
    name = "audit_quick" if args.quick else "audit"
    path = report.write_json(name, result)
    text = markdown(result)
    path.with_suffix(".md").write_text(text)
    print(f"\n{text}\nwritten: {path} and {path.with_suffix('.md')} ({result['meta']['wall_s']} s)")


if __name__ == "__main__":
    main()
