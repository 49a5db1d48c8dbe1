"""A minimal, very fast fake OpenAI server on loopback, for measuring what a gateway adds.

Raw asyncio protocol on uvloop with httptools' parser and pre-serialized bodies, so that the upstream
costs as little as possible. It answers ``POST /v1/chat/completions`` (a non-streaming completion, or an
SSE stream of a role chunk, four content chunks, a finish chunk, a usage chunk and ``[DONE]``, each event
one HTTP chunk) and ``GET /v1/models``; anything else is 404.

Run: ``.venv/bin/python -m bench.fake_upstream --port 8101`` (prints ``ready`` once listening).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
from typing import cast

import httptools
import orjson

from bench.procs import run_fast

MODEL = "fake-model"
CREATED = 1_700_000_000
CONTENT_WORDS = ["Bonjour,", " je", " suis", " un assistant."]

_COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(CONTENT_WORDS), "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    }
)
_MODELS = orjson.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "created": CREATED, "owned_by": "bench"}]}
)
_NOT_FOUND = orjson.dumps({"error": {"message": "not found", "type": "not_found_error"}})


def _chunk(choices: list[object], usage: dict[str, int] | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": choices,
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _sse_events() -> list[bytes]:
    """The stream's events, each ``data: ...\\n\\n``."""
    choice = {"index": 0, "finish_reason": None, "logprobs": None}
    chunks = [_chunk([{**choice, "delta": {"role": "assistant", "content": ""}}])]
    chunks += [_chunk([{**choice, "delta": {"content": word}}]) for word in CONTENT_WORDS]
    chunks.append(_chunk([{**choice, "delta": {}, "finish_reason": "stop"}]))
    chunks.append(_chunk([], {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}))
    events = [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks]
    return [*events, b"data: [DONE]\n\n"]


def _fixed_response(status: bytes, body: bytes) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


def _stream_response() -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    framed = [f"{len(e):x}".encode() + b"\r\n" + e + b"\r\n" for e in _sse_events()]
    return head + b"".join(framed) + b"0\r\n\r\n"


COMPLETION_RESPONSE = _fixed_response(b"200 OK", _COMPLETION)
STREAM_RESPONSE = _stream_response()
MODELS_RESPONSE = _fixed_response(b"200 OK", _MODELS)
NOT_FOUND_RESPONSE = _fixed_response(b"404 Not Found", _NOT_FOUND)


def choose_response(method: bytes, path: bytes, body: bytes) -> bytes:
    """The pre-serialized response for one request."""
    path = path.split(b"?", 1)[0].rstrip(b"/")
    if method == b"GET" and path.endswith(b"/models"):
        return MODELS_RESPONSE
    if method == b"POST" and path.endswith(b"/chat/completions"):
        # A JSON parse (not a substring test) so that spacing in the client's body does not matter.
        stream = orjson.loads(body).get("stream") is True if body else False
        return STREAM_RESPONSE if stream else COMPLETION_RESPONSE
    return NOT_FOUND_RESPONSE


class FakeOpenAIProtocol(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: parse, answer from the pre-serialized bodies."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.transport is None:
            return
        method = self.parser.get_method()
        self.transport.write(choose_response(method, self.url, b"".join(self.body)))
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    """Listen until cancelled."""
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"the fake upstream only listens on loopback, not {host}")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FakeOpenAIProtocol, host, port, backlog=1024, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args(argv)
    try:
        run_fast(serve(args.host, args.port))
    except KeyboardInterrupt:
        return


if __name__ == "__main__":
    main()
