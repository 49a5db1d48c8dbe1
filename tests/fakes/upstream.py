"""A fake OpenAI-compatible server on loopback with programmable failures, for backend and failover tests.

It is a real HTTP/1.1 server (asyncio streams and h11, in a background thread with its own event loop), so
clients go through real sockets, connection pools, chunked transfer and abrupt disconnects. Its bodies are
modelled on recorded vLLM exchanges (``shared/data/opengatellm-cassettes``): a stream opens with a chunk
carrying the role and an empty content, sends one chunk per token, puts ``finish_reason`` on the last
content chunk, then a usage chunk with empty ``choices`` when ``stream_options.include_usage`` is set, then
``data: [DONE]``.

    with FakeUpstream(Behaviour.ERROR_500) as upstream:
        ...  # point a backend at upstream.base_url
        upstream.behaviour = Behaviour.NORMAL  # behaviours can change while it runs
        assert upstream.count("/v1/chat/completions") == 2
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import h11

JSON = [(b"content-type", b"application/json")]
SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


class Behaviour(StrEnum):
    """How the fake answers every request (including ``GET /v1/models``)."""

    NORMAL = "normal"
    ERROR_500 = "error_500"  # 500 with an OpenAI error body
    ERROR_429 = "error_429"  # 429 rate limited
    HTTP_400 = "http_400"  # 400 with an OpenAI error body naming a parameter
    GARBAGE = "garbage"  # 200 with an HTML body; streams start with a line that is not JSON
    GARBAGE_MID_STREAM = "garbage_mid_stream"  # some good chunks, then a line that is not JSON
    DIE_MID_STREAM = "die_mid_stream"  # some good chunks, then the connection is reset
    HANG = "hang"  # reads the request and never answers
    SLOW_FIRST_BYTE = "slow_first_byte"  # waits ``delay`` seconds before the status line
    SLOW_FIRST_CHUNK = "slow_first_chunk"  # streams: headers at once, first chunk after ``delay``


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; ``json`` is the parsed body (None when empty)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any


class _Reset(Exception):
    """The fake dropped the connection on purpose."""


def closed_base_url() -> str:
    """A loopback base URL where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _words(text: str) -> int:
    return max(1, len(text.split()))


def _error_body(message: str, kind: str, param: str | None, code: str | int | None) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


class FakeUpstream:
    """A programmable OpenAI-compatible server on 127.0.0.1; it records every request it receives."""

    def __init__(
        self,
        behaviour: Behaviour = Behaviour.NORMAL,
        *,
        reply: str = "Bonjour, je suis le serveur de test.",
        api_key: str | None = None,
        delay: float = 5.0,
        chunk_delay: float = 0.0,
        good_chunks: int = 2,
        dimensions: int = 8,
    ) -> None:
        self.behaviour = behaviour
        self.reply = reply
        self.api_key = api_key  # when set, requests without this bearer key get 401
        self.delay = delay
        self.chunk_delay = chunk_delay  # pause between stream chunks, to let clients leave mid-stream
        self.good_chunks = good_chunks  # chunks sent before dying or sending garbage
        self.dimensions = dimensions
        self.requests: list[RecordedRequest] = []
        self.aborted_streams = 0  # streams the client left before their end
        self.completed_streams = 0
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server (ending in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def count(self, path: str = "/v1/chat/completions") -> int:
        """How many requests were received for ``path``."""
        return sum(1 for r in self.requests if r.path == path)

    def start(self) -> FakeUpstream:
        """Start serving in a background thread; returns once the port is bound."""
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(ready),), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake upstream did not start")
        return self

    def stop(self) -> None:
        """Stop serving: open connections are dropped, the port is released."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = self._loop = self._stopping = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await self._stopping.wait()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while (request := await _read_request(conn, reader)) is not None:
                self.requests.append(request)
                await _Exchange(self, conn, reader, writer).respond(request)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (_Reset, ConnectionError, h11.ProtocolError):
            pass  # the client or the fake dropped the connection: nothing more to say on it
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> RecordedRequest | None:
    """The next complete request on the connection; None when the client closed it."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = {k.decode().lower(): v.decode() for k, v in head.headers}
            return RecordedRequest(
                head.method.decode(), head.target.decode(), headers, json.loads(body) if body else None
            )
        else:
            return None


class _Exchange:
    """One response, shaped by the fake's current behaviour."""

    def __init__(
        self,
        fake: FakeUpstream,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.fake = fake
        self.conn = conn
        self.reader = reader
        self.writer = writer

    async def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                self.writer.write(data)
        await self.writer.drain()

    async def send_body(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        length = [(b"content-length", str(len(body)).encode())]
        await self.send(h11.Response(status_code=status, headers=headers + length), h11.Data(data=body))
        await self.send(h11.EndOfMessage())

    async def respond(self, request: RecordedRequest) -> None:
        fake, behaviour = self.fake, self.fake.behaviour
        if behaviour is Behaviour.HANG:
            assert fake._stopping is not None
            await fake._stopping.wait()
            raise _Reset
        if behaviour is Behaviour.SLOW_FIRST_BYTE:
            await asyncio.sleep(fake.delay)
        if fake.api_key and request.headers.get("authorization") != f"Bearer {fake.api_key}":
            body = _error_body("Incorrect API key provided.", "authentication_error", None, "invalid_api_key")
            await self.send_body(401, body, JSON)
        elif behaviour is Behaviour.ERROR_500:
            body = _error_body("CUDA out of memory.", "InternalServerError", None, 500)
            await self.send_body(500, body, JSON)
        elif behaviour is Behaviour.ERROR_429:
            await self.send_body(429, _error_body("Too many requests.", "rate_limit_error", None, 429), JSON)
        elif behaviour is Behaviour.HTTP_400:
            message = "This model's maximum context length is 8192 tokens."
            await self.send_body(400, _error_body(message, "BadRequestError", "messages", 400), JSON)
        else:
            await self.route(request)

    async def route(self, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        if request.method == "GET" and request.path == "/v1/models":
            await self.send_json(_models_body())
        elif request.method == "POST" and request.path == "/v1/chat/completions":
            if body.get("stream"):
                await self.stream(body)
            else:
                await self.send_json(_completion_body(body, self.fake.reply))
        elif request.method == "POST" and request.path == "/v1/embeddings":
            await self.send_json(_embeddings_body(body, self.fake.dimensions))
        else:
            message = f"Not found: {request.method} {request.path}"
            await self.send_body(404, _error_body(message, "NotFoundError", None, 404), JSON)

    async def send_json(self, body: dict[str, Any]) -> None:
        if self.fake.behaviour is Behaviour.GARBAGE:
            await self.send_body(200, b"<html><body>502 Bad Gateway</body></html>", [])
        else:
            await self.send_body(200, json.dumps(body).encode(), JSON)

    async def stream(self, body: dict[str, Any]) -> None:
        fake, behaviour = self.fake, self.fake.behaviour
        await self.send(h11.Response(status_code=200, headers=SSE))
        if behaviour is Behaviour.SLOW_FIRST_CHUNK:
            await asyncio.sleep(fake.delay)
        events = _stream_events(body, fake.reply)
        if behaviour is Behaviour.GARBAGE:
            events = [b"data: {this is not json\n\n"]
        for index, event in enumerate(events):
            if index == fake.good_chunks and behaviour is Behaviour.DIE_MID_STREAM:
                self.writer.transport.abort()
                raise _Reset
            if index == fake.good_chunks and behaviour is Behaviour.GARBAGE_MID_STREAM:
                event = b"<html><body>502 Bad Gateway</body></html>\n\n"
            if index and fake.chunk_delay:
                await asyncio.sleep(fake.chunk_delay)
            if self.reader.at_eof() or self.writer.is_closing():
                fake.aborted_streams += 1
                raise _Reset
            await self.send(h11.Data(data=event))
        # counted before the end of the message goes out: a client that has read the whole stream must
        # find it counted (counting after the send raced with the client's own end of stream)
        fake.completed_streams += 1
        await self.send(h11.EndOfMessage())


def _models_body() -> dict[str, Any]:
    model = {"id": "served-model", "object": "model", "created": int(time.time()), "owned_by": "vllm"}
    return {"object": "list", "data": [{**model, "root": "served-model", "max_model_len": 8192}]}


def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
    prompt = sum(_words(str(m.get("content") or "")) for m in body.get("messages", []))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def _completion_body(body: dict[str, Any], reply: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply, "tool_calls": []}
    message["reasoning_content"] = None
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop", "stop_reason": None}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "served-model"),
        "choices": [choice],
        "usage": _usage(body, _words(reply)),
        "prompt_logprobs": None,
    }


def _stream_events(body: dict[str, Any], reply: str) -> list[bytes]:
    """The SSE events of a streamed completion, as vLLM sends them."""
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "served-model"),
    }
    words = reply.split(" ")
    deltas = [{"role": "assistant", "content": ""}] + [
        {"content": w if i == 0 else " " + w} for i, w in enumerate(words)
    ]
    chunks: list[dict[str, Any]] = []
    for index, delta in enumerate(deltas):
        last = index == len(deltas) - 1
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": "stop" if last else None}
        chunks.append({**head, "choices": [choice]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**head, "choices": [], "usage": _usage(body, len(words))})
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


def _embeddings_body(body: dict[str, Any], dimensions: int) -> dict[str, Any]:
    texts = body.get("input", [])
    texts = [texts] if isinstance(texts, str) else texts
    data = []
    for index, text in enumerate(texts):
        digest = hashlib.sha256(str(text).encode()).digest()[:dimensions]
        row = [b / 255 - 0.5 for b in digest]
        data.append({"embedding": row, "index": index, "object": "embedding"})
    tokens = sum(_words(str(t)) for t in texts)
    return {
        "data": data,
        "model": body.get("model", "served-model"),
        "object": "list",
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        "id": f"embd-{uuid.uuid4().hex}",
    }
