"""A closed-loop HTTP/1.1 load generator for chat completions, fast enough not to be the bottleneck.

Each of ``concurrency`` clients keeps one keep-alive connection and sends the same pre-serialized request
again as soon as the previous response is complete (raw asyncio protocol on uvloop, httptools' parser:
several times the request rate of an httpx client on one core). Requests that start during the warm-up
are not measured. A response counts as an error unless it is a 200 whose body is a completion (``choices``)
or, for streams, ends with ``data: [DONE]`` and carries no error event.

Only loopback targets are accepted, and every run is bounded by its duration and a request count.
Run: ``.venv/bin/python -m bench.loadgen --url http://127.0.0.1:8101/v1/chat/completions --mode stream
--concurrency 8 --duration 5`` (prints one JSON object).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools
import orjson

from bench.procs import check_loopback, run_fast

REQUEST_TIMEOUT_S = 10.0
MAX_REQUESTS = 500_000
MESSAGES = [
    {"role": "system", "content": "You are the assistant of a public administration. Answer briefly."},
    {"role": "user", "content": "How do I renew my identity card, and which documents do I need?"},
]


def request_body(model: str, stream: bool) -> bytes:
    """The chat request every target receives."""
    body: dict[str, object] = {"model": model, "messages": MESSAGES, "max_tokens": 64, "temperature": 0}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def raw_request(url: str, body: bytes, bearer: str = "sk-bench") -> bytes:
    """The full HTTP/1.1 request bytes for a POST of ``body`` to ``url``."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-type: application/json\r\n"
        f"accept: */*\r\nauthorization: Bearer {bearer}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Response:
    status: int
    ok_body: bool
    first_byte_s: float


class ClientConnection(asyncio.Protocol):
    """One keep-alive client connection; ``send`` returns when the whole response has arrived."""

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.tail = b""
        self.first_body_at = 0.0
        self.saw_choices = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed before the response ended"))

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(ConnectionError(f"bad HTTP response: {exc}"))
            if self.transport is not None:
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        if not self.first_body_at:
            self.first_body_at = time.perf_counter()
        # Keep only what the checks need: the end of the body, and whether choices appeared.
        self.tail = (self.tail + body)[-64:]
        if not self.saw_choices and b'"choices"' in body:
            self.saw_choices = True

    def on_message_complete(self) -> None:
        if self.stream:
            ok = self.tail.endswith(b"data: [DONE]\n\n") and b'"error"' not in self.tail
        else:
            ok = self.saw_choices
        response = Response(self.parser.get_status_code(), ok, self.first_body_at)
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    async def send(self, request: bytes) -> Response:
        """Send one request and wait for its complete response."""
        assert self.transport is not None
        self._reset()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await asyncio.wait_for(self.waiter, REQUEST_TIMEOUT_S)


@dataclass
class Tally:
    """What the clients measured inside the measurement window."""

    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    completed: int = 0  # every response, warm-up included (for CPU per request)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


@dataclass
class Window:
    start: float
    end: float
    max_requests: int


async def _connect(host: str, port: int, stream: bool) -> ClientConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: ClientConnection(stream), host, port)
    return protocol


async def _client(url: str, request: bytes, stream: bool, window: Window, tally: Tally) -> None:
    """One closed-loop client: send, wait, record, repeat until the window closes."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    conn: ClientConnection | None = None
    while (started := time.perf_counter()) < window.end and tally.issued < window.max_requests:
        tally.issued += 1
        measured = started >= window.start
        try:
            if conn is None or conn.closed:
                conn = await _connect(host, port, stream)
            response = await conn.send(request)
            tally.completed += 1
        except (OSError, TimeoutError) as exc:
            if measured:
                tally.error(type(exc).__name__)
            if conn is not None and conn.transport is not None:
                conn.transport.close()
            conn = None
            await asyncio.sleep(0.01)  # a refused connection must not become a busy loop
            continue
        if not measured:
            continue
        if response.status != 200 or not response.ok_body:
            tally.error(f"http_{response.status}" if response.status != 200 else "bad_body")
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.first_bytes.append(response.first_byte_s - started)
    if conn is not None and conn.transport is not None:
        conn.transport.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadResult:
    """One load point: request rate, errors and latency percentiles in milliseconds."""

    mode: str
    concurrency: int
    duration_s: float
    requests: int
    errors: int
    error_rate: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    first_byte_p50_ms: float
    error_kinds: dict[str, int]
    completed_with_warmup: int


def summarize(mode: str, concurrency: int, measured_s: float, tally: Tally) -> LoadResult:
    """Percentiles and rates of a finished run."""
    ok = len(tally.latencies)
    total = ok + tally.errors

    def ms(value: float) -> float:
        return round(value * 1000, 3)

    return LoadResult(
        mode=mode,
        concurrency=concurrency,
        duration_s=round(measured_s, 3),
        requests=ok,
        errors=tally.errors,
        error_rate=round(tally.errors / total, 5) if total else 1.0,
        rps=round(ok / measured_s, 1) if measured_s > 0 else 0.0,
        p50_ms=ms(percentile(tally.latencies, 50)),
        p90_ms=ms(percentile(tally.latencies, 90)),
        p99_ms=ms(percentile(tally.latencies, 99)),
        mean_ms=ms(sum(tally.latencies) / ok) if ok else math.nan,
        first_byte_p50_ms=ms(percentile(tally.first_bytes, 50)),
        error_kinds=tally.error_kinds,
        completed_with_warmup=tally.completed,
    )


async def run_load(
    url: str, model: str, mode: str, concurrency: int, duration: float, warmup: float
) -> LoadResult:
    """Drive ``url`` with ``concurrency`` closed-loop clients for ``warmup`` + ``duration`` seconds."""
    check_loopback(url)
    stream = mode == "stream"
    # the same bytes for every target; a governed target's key comes from the environment
    request = raw_request(url, request_body(model, stream), os.environ.get("BENCH_BEARER", "sk-bench"))
    now = time.perf_counter()
    window = Window(start=now + warmup, end=now + warmup + duration, max_requests=MAX_REQUESTS)
    tally = Tally()
    clients = [_client(url, request, stream, window, tally) for _ in range(concurrency)]
    await asyncio.wait_for(asyncio.gather(*clients), warmup + duration + REQUEST_TIMEOUT_S + 5)
    measured = min(time.perf_counter(), window.end) - window.start
    return summarize(mode, concurrency, measured, tally)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: one load point, printed as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Chat completions URL on loopback.")
    parser.add_argument("--model", default="bench-model")
    parser.add_argument("--mode", choices=["json", "stream"], default="json")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0, help="Measured seconds (at most 60).")
    parser.add_argument("--warmup", type=float, default=1.0, help="Unmeasured seconds first.")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 60 or not 0 <= args.warmup <= 30 or not 1 <= args.concurrency <= 1024:
        parser.error("duration must be in (0, 60], warmup in [0, 30], concurrency in [1, 1024]")
    result: list[LoadResult] = []

    async def go() -> None:
        result.append(
            await run_load(args.url, args.model, args.mode, args.concurrency, args.duration, args.warmup)
        )

    run_fast(go())
    sys.stdout.write(orjson.dumps(asdict(result[0])).decode() + "\n")


if __name__ == "__main__":
    main()
