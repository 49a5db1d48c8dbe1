"""The embedded backend: llama.cpp in-process (xllamacpp) serving a GGUF file whose sha256 was verified.

The engine applies the GGUF's chat template and schedules requests on ``parallel`` slots (continuous
batching); each slot gets ``n_ctx / parallel`` tokens of context. Every request runs in streaming mode
on a worker thread whose callback hands chunks to the event loop as they are produced, so that a client
who leaves stops the generation at the next token (returning True from the callback cancels the task).
Non-streaming completions are folded from the same chunks: the engine's non-streaming call cannot be
cancelled. Workers are as many as slots, so waiting requests queue here and one abandoned before it
started never runs.

Only the OpenAI fields below reach the engine: its native fields (``n_predict``, ``id_slot``,
``grammar`` ...) would let a client bypass the gateway's output limit or pick another user's slot.

xllamacpp always starts llama.cpp's HTTP listener as well; it is bound to loopback on a random port,
with its web UI and slot endpoints off and a random API key that nobody is told.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import xllamacpp

from souverain import bundled
from souverain.backends.base import EmbeddingResult, ServedModel
from souverain.errors import BackendError, BackendUnavailable, InvalidRequest
from souverain.protocol import responses
from souverain.settings import BackendSettings, Settings

logger = logging.getLogger(__name__)

ENGINE_FIELDS = (
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
)
"""The request fields passed to the engine; everything else the client sent is dropped."""

_END = object()


class _Failure:
    """An exception raised on the worker thread, carried to the reader."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def engine_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The engine's request body: the allowed OpenAI fields, always streamed with usage."""
    request = {key: payload[key] for key in ENGINE_FIELDS if key in payload}
    if "max_completion_tokens" in request:  # it wins over max_tokens, as in the OpenAI API
        request["max_tokens"] = request.pop("max_completion_tokens")
    request["stream"] = True
    request["stream_options"] = {"include_usage": True}
    return request


def engine_build() -> str:
    """The instruction sets the installed engine was compiled for ("built for AVX, AVX2": the prebuilt)."""
    report = str(xllamacpp.get_system_info())  # "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | ..."
    features = [part.split("=")[0].strip() for part in report.split("|") if part.strip().endswith("= 1")]
    simd = [name.removeprefix("CPU : ") for name in features if name.removeprefix("CPU : ").startswith("AVX")]
    return "built for " + (", ".join(simd) or "no AVX")


def engine_params(path: Path, settings: BackendSettings) -> Any:
    """llama.cpp's parameters for serving ``path`` with the backend's context, slots and threads."""
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = settings.n_ctx
    params.n_parallel = settings.parallel
    params.kv_unified = False  # a fixed share per slot: one long request cannot starve the others
    params.cpuparams.n_threads = settings.threads
    params.cpuparams_batch.n_threads = settings.threads
    params.cache_ram_mib = settings.prompt_cache_mib  # llama.cpp's default: up to 8 GiB of past prompts
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.api_keys = [secrets.token_urlsafe(32)]
    params.ui = False
    params.endpoint_slots = False
    params.endpoint_props = False
    params.endpoint_metrics = False
    params.verbosity = 0  # its own log is plain text on stderr; its errors reach us in the results
    return params


def raise_engine_error(error: object) -> NoReturn:
    """Raise the souverain exception for an engine error body: 400s are the client's, the rest ours."""
    detail = error if isinstance(error, dict) else {"message": str(error)}
    message = str(detail.get("message") or "unknown error")
    if detail.get("type") == "exceed_context_size_error":
        raise InvalidRequest(
            f"The request has {detail.get('n_prompt_tokens', 'too many')} prompt tokens; this model's "
            f"context window is {detail.get('n_ctx', 'smaller')} tokens. Shorten the messages.",
            param="messages",
            code="context_length_exceeded",
        )
    if detail.get("code") == 400 or detail.get("type") == "invalid_request_error":
        raise InvalidRequest(f"The model engine rejected the request: {message}")
    raise BackendError(f"The embedded model engine failed: {message}")


def clean_chunk(chunk: dict[str, Any], model: str) -> dict[str, Any]:
    """An engine chunk as OpenAI sends it: our model name, no timings, no cache statistics."""
    if "error" in chunk:
        raise_engine_error(chunk["error"])
    chunk.pop("timings", None)
    chunk["model"] = model
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        # cached_tokens would tell a client whether someone else recently sent the same prompt prefix
        chunk["usage"] = responses.usage(
            int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        )
    return responses.check_chunk(chunk)


class CompletionFolder:
    """Folds stream chunks into one chat completion body."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id_ = responses.completion_id()
        self.created = int(time.time())
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.logprobs: list[Any] = []
        self.finish_reason = "stop"
        self.usage = responses.usage(0, 0)

    def add(self, chunk: dict[str, Any]) -> None:
        """Take one cleaned chunk into account."""
        self.id_, self.created = chunk.get("id", self.id_), chunk.get("created", self.created)
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices", []):
            delta = choice.get("delta") or {}
            self.content.append(delta.get("content") or "")
            self.reasoning.append(delta.get("reasoning_content") or "")
            for call in delta.get("tool_calls") or []:
                self._add_tool_call(call)
            self.logprobs.extend((choice.get("logprobs") or {}).get("content") or [])
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def _add_tool_call(self, delta: dict[str, Any]) -> None:
        call = self.tool_calls.setdefault(
            int(delta.get("index", 0)),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        call["id"] = delta.get("id") or call["id"]
        function = delta.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""

    def body(self) -> dict[str, Any]:
        """The completion body, checked like any upstream's."""
        calls = [self.tool_calls[index] for index in sorted(self.tool_calls)]
        body = responses.chat_completion(
            model=self.model,
            content="".join(self.content) or (None if calls else ""),
            finish_reason=self.finish_reason,
            prompt_tokens=self.usage["prompt_tokens"],
            completion_tokens=self.usage["completion_tokens"],
            tool_calls=calls or None,
            id_=self.id_,
        )
        body["created"] = self.created
        choice = body["choices"][0]
        if any(self.reasoning):
            choice["message"]["reasoning_content"] = "".join(self.reasoning)
        if self.logprobs:
            choice["logprobs"] = {"content": self.logprobs, "refusal": None}
        return responses.check_completion(body)


class EmbeddedBackend:
    """llama.cpp in-process on a bundled or operator-provided GGUF file."""

    def __init__(self, name: str, settings: BackendSettings, app_settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._models_dir = app_settings.data_dir / "models"
        self._served_name = settings.bundled or (settings.model_path.name if settings.model_path else name)
        self._sha256: str | None = None
        self._server: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._running: set[threading.Event] = set()
        self._closed = False
        self._lock = threading.Lock()

    def _verified_weights(self) -> tuple[Path, str]:
        """The GGUF file and its sha256, verified (blocking: it reads the whole file)."""
        if self.settings.bundled:
            model = bundled.get(self.settings.bundled)
            return bundled.assemble(model, self._models_dir), model.sha256
        path, sha256 = self.settings.model_path, self.settings.sha256
        assert path is not None  # the settings validator requires bundled or model_path
        assert sha256 is not None  # and a sha256 with model_path
        bundled.verify(path, sha256)
        return path, sha256

    async def start(self) -> None:
        """Verify the weights (a mismatch raises ``ModelIntegrityError``), then load them."""
        path, sha256 = await asyncio.to_thread(self._verified_weights)
        began = time.perf_counter()
        await asyncio.to_thread(self._load, path)
        self._sha256 = sha256
        took = time.perf_counter() - began
        logger.info("backend %s loaded %s in %.1f s, engine %s", self.name, path.name, took, engine_build())

    def _load(self, path: Path) -> None:
        """Load the engine (blocking); a failure makes the backend unavailable."""
        try:
            server = xllamacpp.Server(engine_params(path, self.settings))
        except (RuntimeError, ValueError) as exc:
            raise BackendUnavailable(f"llama.cpp could not load {path.name}: {exc}") from exc
        with self._lock:
            if self._closed:  # closed while loading (another backend failed to start): dropped here
                return
            self._server = server
            self._executor = ThreadPoolExecutor(
                self.settings.parallel, thread_name_prefix=f"llama-{self.name}"
            )

    async def close(self) -> None:
        """Stop every generation, wait for the workers, then free the engine."""
        self._closed = True
        for stop in list(self._running):
            stop.set()
        await asyncio.to_thread(self._release)

    def _release(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        # the engine's destructor joins its thread, so it runs here rather than on the event loop, and
        # only once no worker uses it (llama.cpp does not support freeing it under a waiting request)
        self._server = None

    async def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        folder = CompletionFolder(payload["model"])
        chunks = self._generate(engine_request(payload), payload["model"])
        try:
            async for chunk in chunks:
                folder.add(chunk)
        finally:
            await chunks.aclose()
        return folder.body()

    def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        return self._generate(engine_request(payload), payload["model"])

    async def _generate(self, request: dict[str, Any], model: str) -> AsyncGenerator[dict[str, Any]]:
        """Cleaned chunks as the engine produces them; closing this iterator stops the generation."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        work = self._submit(loop, request, _deliver(loop, queue, stop))
        self._running.add(stop)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, _Failure):
                    logger.warning("backend %s: the engine raised %s", self.name, type(item.exc).__name__)
                    raise BackendError("The embedded model engine failed.") from item.exc
                assert isinstance(item, dict)
                yield clean_chunk(item, model)
        finally:
            stop.set()
            work.cancel()  # only effective while it waits for a worker: then it never runs
            self._running.discard(stop)

    def _submit(
        self, loop: asyncio.AbstractEventLoop, request: dict[str, Any], deliver: Callable[[object], bool]
    ) -> asyncio.Future[None]:
        """Queue one generation for a worker; 503 once the backend is closed or before it started."""
        executor = self._executor
        if executor is not None and not self._closed:
            try:
                return loop.run_in_executor(executor, self._run, request, deliver)
            except RuntimeError:  # shut down between the check and the call
                pass
        raise BackendUnavailable(f"The backend {self.name!r} is not running.", code="backend_not_running")

    def _run(self, request: dict[str, Any], deliver: Callable[[object], bool]) -> None:
        """One generation on a worker thread; chunks, a failure, then the end go to ``deliver``."""
        try:
            server = self._server
            if server is None:
                raise RuntimeError("the engine was freed")
            server.handle_chat_completions(request, deliver)
        except Exception as exc:  # noqa: BLE001 - carried to the reader, which raises BackendError
            deliver(_Failure(exc))
        finally:
            deliver(_END)

    async def embed(self, texts: list[str], model: str) -> EmbeddingResult:
        raise InvalidRequest(
            f"The model {model!r} is served by llama.cpp for chat and does not provide embeddings.",
            param="model",
            code="embeddings_not_supported",
        )

    async def health(self) -> bool:
        return self._server is not None and not self._closed

    def served_model(self, model: str) -> ServedModel:
        return ServedModel(name=self._served_name, weights_sha256=self._sha256)


def _deliver(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object], stop: threading.Event) -> Any:
    """The engine's callback: hand an item to the event loop; answer True to stop generating."""

    def deliver(item: object) -> bool:
        if stop.is_set():
            return True
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody will read what follows
            stop.set()
        return stop.is_set()

    return deliver
