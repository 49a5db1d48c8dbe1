"""Backend for any OpenAI-compatible HTTP server: vLLM, Ollama, llama.cpp server, TGI, Mistral's API.

Upstream failures become ``souverain.errors`` exceptions, which tell the router what it may retry:

    connection refused, connection pool full     -> BackendUnavailable  503  retried on the next backend
    connect or read timeout, first chunk late    -> BackendTimeout      504  retried
    upstream 429 or 503                          -> BackendUnavailable  503  retried
    upstream 408 or 504                          -> BackendTimeout      504  retried
    upstream 401, 403 (our key), other 5xx, 3xx  -> BackendError        502  retried
    upstream 404, 413, other 4xx                 -> NotFound, PayloadTooLarge, InvalidRequest with the
                                                    upstream's message; not retried (any backend would
                                                    refuse the same request)
    a body, chunk or line that is not OpenAI's   -> BackendError        502  retried before the first chunk

Timeouts: ``connect_timeout`` to open a connection, ``read_timeout`` between two reads. A non-streaming
completion sends nothing until generation ends, so its wait is bounded by ``read_timeout`` alone; a stream
must deliver its headers and first chunk within ``first_byte_timeout``, while failover is still possible.

Mistral's hosted API (``*.mistral.ai``) validates strictly and answers 422 to ``stream_options``,
``max_completion_tokens`` and ``seed``; it always sends usage with the last chunk and calls the seed
``random_seed``. Requests to it are rewritten accordingly (``adapt_payload``). Mistral models served by
vLLM or llama.cpp speak plain OpenAI and are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import numpy as np
import orjson

from souverain.backends.base import EmbeddingResult, ServedModel
from souverain.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    SouverainError,
)
from souverain.logs import request_id_var
from souverain.protocol import responses
from souverain.settings import BackendSettings, Settings

logger = logging.getLogger(__name__)

Dialect = Literal["openai", "mistral"]

_HEALTH_TIMEOUT = 5.0
_MESSAGE_LIMIT = 500
_SSE_FIELDS = ("event:", "id:", "retry:")


def dialect_of(base_url: str) -> Dialect:
    """Which flavour of the OpenAI API the server at ``base_url`` speaks."""
    host = httpx.URL(base_url).host
    return "mistral" if host == "mistral.ai" or host.endswith(".mistral.ai") else "openai"


def adapt_payload(payload: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """The chat request body as this upstream accepts it."""
    if dialect == "openai":
        return payload
    body = {key: value for key, value in payload.items() if key != "stream_options"}
    limit = body.pop("max_completion_tokens", None)
    if limit is not None:  # it wins over max_tokens, as in ChatCompletionRequest.output_limit
        body["max_tokens"] = limit
    if "seed" in body:
        body["random_seed"] = body.pop("seed")
    return body


def _detail_text(detail: object) -> str | None:
    """FastAPI/pydantic validation details (vLLM, Mistral) as one line, without the offending input."""
    if isinstance(detail, str):
        return detail
    if not isinstance(detail, list):
        return None
    parts = []
    for item in detail:
        if isinstance(item, dict):
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg")))
    return "; ".join(parts) or None


def _describe(body: bytes) -> tuple[str | None, str | None, str | None]:
    """Message, param and code of an upstream error body, in the shapes servers actually send."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None, None
    if not isinstance(parsed, dict):
        return None, None, None
    error = parsed.get("error")
    if isinstance(error, dict):  # OpenAI, llama.cpp, Ollama
        code = error.get("code")
        param = error.get("param")
        return (
            _message_text(error.get("message")),
            str(param) if param is not None else None,
            str(code) if code is not None else None,
        )
    if isinstance(error, str):  # TGI
        return error, None, None
    return _message_text(parsed.get("message")) or _detail_text(parsed.get("detail")), None, None


def _message_text(message: object) -> str | None:
    if isinstance(message, dict):  # Mistral nests the validation detail in the message
        return _detail_text(message.get("detail"))
    return message if isinstance(message, str) else None


def upstream_error(status: int, body: bytes) -> SouverainError:
    """The exception for an upstream answer with a non-2xx ``status``."""
    if status in (429, 503):
        return BackendUnavailable(f"The upstream is overloaded or unavailable (HTTP {status}).")
    if status in (408, 504):
        return BackendTimeout(f"The upstream timed out (HTTP {status}).")
    if status in (401, 403):
        # Our credentials, not the client's: another backend may still serve the request.
        return BackendError(f"The upstream refused the gateway's credentials (HTTP {status}).")
    if not 400 <= status < 500:
        return BackendError(f"The upstream failed (HTTP {status}).")
    message, param, code = _describe(body)
    text = f"The upstream rejected the request: {(message or f'HTTP {status}')[:_MESSAGE_LIMIT]}"
    if status == 404:
        return NotFound(text, param=param, code=code)
    if status == 413:
        return PayloadTooLarge(text, param=param, code=code)
    return InvalidRequest(text, param=param, code=code or "upstream_rejected")


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn httpx failures into the backend exceptions the router understands."""
    try:
        yield
    except httpx.PoolTimeout as exc:
        raise BackendUnavailable("Every connection to the upstream is busy.") from exc
    except httpx.TimeoutException as exc:
        raise BackendTimeout(f"The upstream did not answer in time ({type(exc).__name__}).") from exc
    except httpx.ConnectError as exc:
        raise BackendUnavailable("The upstream cannot be reached.") from exc
    except httpx.RequestError as exc:
        raise BackendError(f"The connection to the upstream failed ({type(exc).__name__}).") from exc


def _parse_json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise BackendError("The upstream returned a body that is not JSON.") from None


def _check_chunk(data: str) -> dict[str, Any]:
    """One ``data:`` payload as a chat chunk; anything else (vLLM's error objects too) is a BackendError."""
    try:
        chunk = responses.check_chunk(orjson.loads(data))
    except orjson.JSONDecodeError:
        raise BackendError("The upstream sent a stream chunk that is not JSON.") from None
    if chunk.get("object") == "error" or not isinstance(chunk.get("choices"), list):
        raise BackendError("The upstream sent a stream chunk that is not a chat completion chunk.")
    return chunk


def parse_embeddings(body: object, expected: int) -> EmbeddingResult:
    """Vectors in input order from an OpenAI embeddings body; anything else is a BackendError."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise BackendError("The upstream returned embeddings that do not match the inputs.")
    try:
        rows = sorted(data, key=lambda item: int(item["index"]))
        if [int(item["index"]) for item in rows] != list(range(expected)):
            raise BackendError("The upstream returned embeddings with wrong indices.")
        vectors = np.asarray([item["embedding"] for item in rows], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackendError("The upstream returned malformed embeddings.") from exc
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise BackendError("The upstream returned malformed embeddings.")
    usage = body.get("usage") if isinstance(body, dict) else None
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return EmbeddingResult(vectors, tokens if isinstance(tokens, int) else 0)


class _SSEReader:
    """Chat chunks from an upstream's server-sent events, parsed line by line as they arrive."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self.lines = lines
        self.finished = False  # a choice has ended: a close without [DONE] is then tolerated

    async def next(self) -> dict[str, Any] | None:
        """The next chunk; None at ``[DONE]``."""
        with _translate_errors():
            async for line in self.lines:
                if not line or line.startswith(":") or line.startswith(_SSE_FIELDS):
                    continue  # event separators, keep-alive comments, other SSE fields
                if not line.startswith("data:"):
                    raise BackendError("The upstream sent a line that is not a server-sent event.")
                data = line[5:].strip()
                if data == "[DONE]":
                    return None
                chunk = _check_chunk(data)
                self.finished = self.finished or any(
                    isinstance(c, dict) and c.get("finish_reason") for c in chunk["choices"]
                )
                return chunk
        if self.finished:
            return None
        raise BackendError("The upstream stream ended before the completion did.")

    async def aclose(self) -> None:
        """Finalise the line iterator now rather than at garbage collection."""
        close = getattr(self.lines, "aclose", None)
        if close is not None:
            await close()


def _request_headers() -> dict[str, str]:
    """Per-request headers: JSON content, and the request id so that upstream logs can be correlated."""
    request_id = request_id_var.get()
    headers = {"Content-Type": "application/json"}
    if request_id != "-":
        headers["X-Request-Id"] = request_id
    return headers


class OpenAIBackend:
    """An OpenAI-compatible upstream, reached through one pooled ``httpx.AsyncClient``."""

    def __init__(self, name: str, settings: BackendSettings, app_settings: Settings) -> None:
        if not settings.base_url:
            raise ValueError(f"backend {name!r} needs base_url")
        self.name = name
        self.settings = settings
        self.base_url = settings.base_url
        self.dialect = dialect_of(settings.base_url)
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Open the connection pool (connections themselves are made on first use)."""
        s = self.settings
        headers = {"User-Agent": "souverain"}
        if s.api_key is not None:
            headers["Authorization"] = f"Bearer {s.api_key.get_secret_value()}"
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout, pool=s.connect_timeout),
            limits=httpx.Limits(
                max_connections=s.max_connections, max_keepalive_connections=s.max_connections
            ),
            # Where model traffic goes is decided by configuration only, never by HTTP_PROXY or .netrc.
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise BackendUnavailable(f"The backend {self.name!r} is not started.")
        return self._client

    def _check_status(self, response: httpx.Response) -> None:
        """Raise the mapped exception for a non-2xx response (whose body has been read)."""
        if 200 <= response.status_code < 300:
            return
        # The status only: error bodies may echo the request, and the router logs retried failures.
        logger.info("backend %s: upstream answered HTTP %d", self.name, response.status_code)
        raise upstream_error(response.status_code, response.content)

    async def _post_json(self, path: str, body: dict[str, Any]) -> Any:
        with _translate_errors():
            response = await self._http.post(path, content=orjson.dumps(body), headers=_request_headers())
        self._check_status(response)
        return _parse_json(response.content)

    async def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One non-streaming chat completion."""
        body = {**adapt_payload(payload, self.dialect), "stream": False}
        return responses.check_completion(await self._post_json("/chat/completions", body))

    async def _open_stream(self, payload: dict[str, Any]) -> httpx.Response:
        """Send the streaming request and return the response once its status is known to be 2xx."""
        body = {**adapt_payload(payload, self.dialect), "stream": True}
        request = self._http.build_request(
            "POST", "/chat/completions", content=orjson.dumps(body), headers=_request_headers()
        )
        with _translate_errors():
            response = await self._http.send(request, stream=True)
        try:
            if not 200 <= response.status_code < 300:
                with _translate_errors():
                    await response.aread()
                self._check_status(response)
        except BaseException:
            await response.aclose()
            raise
        return response

    async def _first_chunk(
        self, payload: dict[str, Any]
    ) -> tuple[httpx.Response, _SSEReader, dict[str, Any]]:
        """Open the stream and read its first chunk, both within ``first_byte_timeout``."""
        limit = self.settings.first_byte_timeout
        deadline = asyncio.get_running_loop().time() + limit
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._open_stream(payload)
        except TimeoutError:
            raise BackendTimeout(f"The upstream sent nothing within {limit:g} s.") from None
        reader = _SSEReader(response.aiter_lines())
        try:
            async with asyncio.timeout_at(deadline):
                first = await reader.next()
            if first is None:
                raise BackendError("The upstream closed the stream without sending anything.")
        except BaseException as exc:
            await reader.aclose()
            await response.aclose()
            if isinstance(exc, TimeoutError):
                raise BackendTimeout(f"The upstream sent no first chunk within {limit:g} s.") from None
            raise
        return response, reader, first

    async def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A streaming chat completion relayed chunk by chunk; errors before the first chunk fail over."""
        response, reader, first = await self._first_chunk(payload)
        try:
            chunk: dict[str, Any] | None = first
            while chunk is not None:
                yield chunk
                chunk = await reader.next()
        finally:
            # Runs when the consumer stops early too (client disconnect): frees the upstream slot.
            await reader.aclose()
            await response.aclose()

    async def embed(self, texts: list[str], model: str) -> EmbeddingResult:
        """Embed ``texts`` with the upstream's /embeddings (float encoding)."""
        body = {"model": model, "input": texts, "encoding_format": "float"}
        return parse_embeddings(await self._post_json("/embeddings", body), len(texts))

    async def health(self) -> bool:
        """Whether GET /models answers 200 within a short timeout."""
        if self._client is None:
            return False
        timeout = min(_HEALTH_TIMEOUT, self.settings.read_timeout)
        try:
            response = await self._client.get("/models", timeout=timeout)
        except httpx.HTTPError as exc:
            logger.info("backend %s: health check failed (%s)", self.name, type(exc).__name__)
            return False
        return response.status_code == 200

    def served_model(self, model: str) -> ServedModel:
        """The upstream serves ``model`` under that name; its weights are not ours to hash."""
        return ServedModel(name=model)
