"""Durability of the audit trail across a crash: ``souverain serve`` is killed with SIGKILL in the middle
of a burst of concurrent chat completions, then restarted on the same database (a SQLite file, and
PostgreSQL). The trail verifies, every request that got a 200 has its event, and the sequence numbers
run 1..N without a gap or a duplicate, before and after the restarted server appends more.

The model is a fake OpenAI-compatible server on loopback that waits before answering, so that several
requests are inside the gateway (calling the model, or waiting for their event's commit) at the kill.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from souverain.storage.database import Database
from tests.audit_support import souverain
from tests.crash_support import Burst, TrailRow, alive, descendants, kill_after, run_burst, trail
from tests.databases import database_url
from tests.fakes.upstream import Behaviour, FakeUpstream
from tests.governance_fixtures import provision
from tests.servers import Server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
REQUESTS, IN_FLIGHT, KILL_AFTER, AFTER_RESTART = 60, 8, 10, 6


def config_text(data_dir: Path, url: str, upstream: str, export_file: Path) -> str:
    """Authentication on, no Redis, the fake upstream as the only backend, frequent checkpoints."""
    return f"""
data_dir = {json.dumps(str(data_dir))}
database_url = {json.dumps(url)}

[server]
log_format = "text"

[audit]
checkpoint_every = 5
export_file = {json.dumps(str(export_file))}

[backends.upstream]
kind = "openai"
base_url = {json.dumps(upstream)}

[[models]]
name = "chat-fake"
routes = [{{ backend = "upstream" }}]
"""


def reap(process: subprocess.Popen[Any] | None) -> None:
    """Kill ``process`` if it still runs (a failed or timed-out test leaves nothing behind)."""
    if process is not None and process.poll() is None:
        process.kill()
        process.communicate(timeout=10)


def start_server(stack: ExitStack, config: Path, workdir: Path, name: str) -> Server:
    """A ``souverain serve`` that is stopped with the stack, and killed if its start never finishes."""
    server = Server(config, workdir, name, start_timeout=90)
    stack.callback(lambda: reap(server.process))
    return stack.enter_context(server)


def start_verify(stack: ExitStack, config: Path) -> subprocess.Popen[str]:
    """``souverain audit verify --json`` started as a subprocess (it runs while the test goes on)."""
    process = souverain(config, "audit", "verify", "--json")
    stack.callback(reap, process)
    return process


def verified(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The report of a verification started by ``start_verify``; asserts it exited 0 and says intact."""
    stdout, stderr = process.communicate(timeout=40)
    assert process.returncode == 0, f"audit verify exited {process.returncode}:\n{stdout}\n{stderr}"
    report: dict[str, Any] = json.loads(stdout)
    assert report["intact"] is True, report
    return report


def assert_gapless(rows: list[TrailRow]) -> None:
    """Sequence numbers are exactly 1..N: none missing, none repeated."""
    seqs = [row.seq for row in rows]
    assert sorted(seqs) == list(range(1, len(seqs) + 1)), seqs


def completions(rows: list[TrailRow]) -> dict[str, TrailRow]:
    """The chat.completion events by request id; no request has two."""
    calls = [row for row in rows if row.action == "chat.completion"]
    twice = [rid for rid, n in Counter(row.request_id for row in calls).items() if n > 1]
    assert not twice, f"requests with more than one event: {twice}"
    return {str(row.request_id): row for row in calls}


def provision_key(url: str) -> str:
    """Migrate the database and give the test an app key allowed to call chat-fake."""
    database = Database(url)
    try:
        database.migrate()
        return provision(database.sessions, allowed_models=["chat-fake"]).key
    finally:
        database.close()


def crash_during_burst(server: Server, key: str, ids: list[str]) -> tuple[Burst, set[int]]:
    """Run the burst and SIGKILL the server after KILL_AFTER successes; returns what the requests got
    and the server's process tree as it was before the burst."""
    assert server.process is not None
    pid = server.process.pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"serve" in cmdline, cmdline  # the server itself, not a shell around it
    tree = {pid} | descendants(pid)
    burst = Burst()
    anyio.run(run_burst, server.base_url, key, ids, IN_FLIGHT, burst, kill_after(pid, KILL_AFTER, burst))
    assert server.process.wait(timeout=10) == -signal.SIGKILL
    return burst, tree


def assert_no_orphans(tree: set[int]) -> None:
    """No process of the killed server's tree outlives it (one that does is killed, and the test fails)."""
    survivors = {pid for pid in tree if alive(pid)}
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"processes of the killed server still running: {survivors}"


def assert_crash_landed_mid_burst(burst: Burst, ids: list[str]) -> None:
    """The kill came after KILL_AFTER answers, with requests inside the server and more still to send."""
    assert burst.killed_at == KILL_AFTER, burst
    assert not burst.other, burst.other
    assert burst.dropped, "no request was in flight when the server was killed"
    assert burst.refused, "every request was sent before the kill: the burst was not interrupted"
    assert burst.ok | burst.dropped | burst.refused == set(ids)


def assert_answered_are_recorded(rows: list[TrailRow], burst: Burst, ids: list[str]) -> None:
    """Every 200 has its success event; no event belongs to a request that never reached the server."""
    assert_gapless(rows)
    events = completions(rows)
    assert burst.ok - events.keys() == set(), "answered requests without an event"
    assert {events[rid].outcome for rid in burst.ok} == {"success"}
    assert events.keys() <= set(ids)
    assert not events.keys() & burst.refused


def crash(config: Path, workdir: Path, key: str, ids: list[str]) -> Burst:
    """Start the server, kill it mid-burst, check the kill was a crash that left no process behind."""
    with ExitStack() as scope:
        server = start_server(scope, config, workdir, "crashed")
        burst, tree = crash_during_burst(server, key, ids)
    assert_no_orphans(tree)
    assert_crash_landed_mid_burst(burst, ids)
    return burst


def restart_and_continue(
    config: Path, workdir: Path, key: str, ids: list[str], checking: subprocess.Popen[str]
) -> dict[str, Any]:
    """Restart on the same database while ``checking`` verifies the crashed trail; once it is done, send
    more requests; stop gracefully (a final checkpoint). Returns the crashed trail's verification."""
    with ExitStack() as scope:
        server = start_server(scope, config, workdir, "restarted")
        report = verified(checking)  # before any new event, so that it saw exactly the crashed trail
        after = Burst()
        anyio.run(run_burst, server.base_url, key, ids, IN_FLIGHT, after, lambda: None)
    assert after.ok == set(ids), after
    assert not server.killed, server.tail()
    return report


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_mid_burst_keeps_every_answered_event(kind: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"crash-{run}-{i:03d}" for i in range(REQUESTS)]
    more = [f"after-{run}-{i:03d}" for i in range(AFTER_RESTART)]
    with ExitStack() as stack:
        url = stack.enter_context(database_url(kind, tmp_path))
        upstream = stack.enter_context(FakeUpstream(Behaviour.SLOW_FIRST_BYTE, delay=0.1))
        config = tmp_path / "souverain.toml"
        config.write_text(config_text(tmp_path / "data", url, upstream.base_url, tmp_path / "cp.jsonl"))
        key = provision_key(url)
        burst = crash(config, tmp_path, key, ids)
        crashed = trail(url)
        assert_answered_are_recorded(crashed, burst, ids)
        checking = start_verify(stack, config)
        assert restart_and_continue(config, tmp_path, key, more, checking)["events"] == len(crashed)
        rows = trail(url)
        assert_gapless(rows)
        assert rows[: len(crashed)] == crashed  # the restarted server appended after the crash's head
        assert {completions(rows)[rid].seq for rid in more} == set(range(len(crashed) + 1, len(rows) + 1))
        report = verified(start_verify(stack, config))
    assert report["events"] == len(rows), report
    assert report["checkpoints"] >= 1, report  # the restarted server's, and their exported copies
