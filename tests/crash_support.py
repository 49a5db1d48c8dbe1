"""What the crash test needs: a burst of concurrent chat completions that SIGKILLs the server part-way,
the process tree of a server, and the audit trail read back from the database."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from souverain.audit.models import EVENTS
from souverain.storage.database import Database

CHAT = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}], "max_tokens": 5}


@dataclass
class Burst:
    """What each request of a burst got back, by its ``X-Request-Id``."""

    ok: set[str] = field(default_factory=set)  # 200 with a completion
    dropped: set[str] = field(default_factory=set)  # sent, then the connection died without an answer
    refused: set[str] = field(default_factory=set)  # never connected (the server was already gone)
    other: dict[str, int] = field(default_factory=dict)  # any other status: none is expected
    killed_at: int | None = None  # how many successes had arrived when the server was killed


def kill_after(pid: int, successes: int, burst: Burst) -> Callable[[], None]:
    """A callback for each success that SIGKILLs ``pid`` once ``successes`` have arrived."""

    def on_success() -> None:
        if burst.killed_at is None and len(burst.ok) >= successes:
            burst.killed_at = len(burst.ok)
            os.kill(pid, signal.SIGKILL)  # synchronously: the other requests are still in flight

    return on_success


async def _one(
    client: httpx.AsyncClient, request_id: str, burst: Burst, on_success: Callable[[], None]
) -> None:
    try:
        r = await client.post("/v1/chat/completions", json=CHAT, headers={"X-Request-Id": request_id})
    except httpx.ConnectError:
        burst.refused.add(request_id)
        return
    except httpx.TransportError:  # reset, closed mid-response, or read timeout after the kill
        burst.dropped.add(request_id)
        return
    if r.status_code == 200 and r.json()["choices"][0]["message"]["content"]:
        burst.ok.add(request_id)
        on_success()
    else:
        burst.other[request_id] = r.status_code


async def run_burst(
    base_url: str, key: str, ids: list[str], in_flight: int, burst: Burst, on_success: Callable[[], None]
) -> None:
    """Send one chat completion per id, ``in_flight`` at a time, into ``burst``; ``on_success`` after
    each 200. Bounded: 30 s in all."""
    gate = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {key}"}

    async def gated(request_id: str) -> None:
        async with gate:
            await _one(client, request_id, burst, on_success)

    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=15) as client:
        async with asyncio.timeout(30):
            await asyncio.gather(*(gated(request_id) for request_id in ids))


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from the parent links in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # exited while we looked
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass(frozen=True)
class TrailRow:
    seq: int
    action: str
    outcome: str
    request_id: str | None


def trail(url: str) -> list[TrailRow]:
    """Every audit event's number, action, outcome and request id, in stored order of seq."""
    database = Database(url)
    try:
        query = select(EVENTS.c.seq, EVENTS.c.action, EVENTS.c.outcome, EVENTS.c.request_id)
        with database.engine.connect() as connection:
            rows = connection.execute(query.order_by(EVENTS.c.seq)).all()
    finally:
        database.close()
    return [TrailRow(int(r.seq), str(r.action), str(r.outcome), r.request_id) for r in rows]
