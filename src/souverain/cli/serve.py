"""``souverain serve``: run the HTTP server.

A start-up refusal we raise on purpose (weights that fail their sha256 check, a backend that cannot
load) ends the command with its message and exit status 1, not with a traceback.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
import uvicorn
from tqdm import tqdm

from souverain import logs
from souverain.app import create_app
from souverain.bundled import ModelIntegrityError
from souverain.cli.common import load_settings
from souverain.cli.governance import actor, open_database, open_registry, run, say
from souverain.errors import NotFound, SouverainError
from souverain.governance import demo as demo_setup
from souverain.knowledge.demo import ensure_demo_collection
from souverain.knowledge.service import build_knowledge_service
from souverain.settings import Settings

_REFUSALS = (ModelIntegrityError, SouverainError)
DEMO_KEY_FILE = "demo-key.txt"

Scope = dict[str, Any]
Receive = Any
Send = Any


def refusal(exc: BaseException | None) -> BaseException | None:
    """The deliberate refusal inside ``exc`` (also inside an exception group), if there is one."""
    if isinstance(exc, BaseExceptionGroup):
        return next((found for inner in exc.exceptions if (found := refusal(inner))), None)
    return exc if isinstance(exc, _REFUSALS) else None


class StartupGuard:
    """ASGI wrapper that keeps a deliberate start-up refusal for the command to report in one line."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_quietly(message: dict[str, Any]) -> None:
            # Starlette reports a failed start-up with the traceback text, from inside its except block
            if message["type"] == "lifespan.startup.failed" and refusal(sys.exception()):
                message = {"type": message["type"], "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, send_quietly)
        except BaseException as exc:
            self.refused = refusal(exc)
            if self.refused is None:
                raise


def _provision_demo(settings: Settings) -> None:
    """The DEMO tenant, use case and app key (kept in data_dir/demo-key.txt and reused while valid)."""
    path = settings.data_dir / DEMO_KEY_FILE
    existing = path.read_text().strip() if path.is_file() else None
    with open_registry(settings) as registry:
        key, new = run(demo_setup.reuse_or_issue_key(registry, actor(), existing))
    if new:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key + "\n")
    prefix = key[: len("souv_") + 12]
    state = "issued a new" if new else "reusing the"
    say(f"DEMO mode: {state} demo app key {prefix}… for {demo_setup.REFERENCE}, saved in {path}.")
    say(f"  export SOUVERAIN_API_KEY=$(cat {path})   # then call http://127.0.0.1:{settings.server.port}/v1")


def _demo_collection(settings: Settings) -> None:
    """Ingest the demo pages on the first run (a progress bar with rate and ETA), reuse them afterwards."""
    with open_database(settings) as database:
        service = build_knowledge_service(database)
        with tqdm(unit=" pages", desc="Ingesting the service-public.fr demo pages", disable=None) as bar:

            def progress(total: int) -> Callable[[int], None]:
                bar.reset(total=total)

                def advance(done: int) -> None:
                    bar.update(done)

                return advance

            try:
                report = ensure_demo_collection(settings, service, progress)
            except NotFound as exc:  # serve anyway: the assistant then says the pages do not answer
                say(f"DEMO mode: no demo knowledge base. {exc.message}")
                return
    gc.collect()  # the ingestion's garbage, collected now rather than during the first searches
    name = settings.knowledge.demo_collection
    if report is None:
        say(f"DEMO mode: reusing the demo collection {name!r}.")
    else:
        pages = report.added + report.updated
        say(
            f"DEMO mode: ingested {pages} pages ({report.chunks} passages) "
            f"into {name!r} in {report.seconds:.0f} s."
        )


def with_public_page(settings: Settings) -> Settings:
    """The settings with the citizen page answering on behalf of the demo use case (unless configured)."""
    if settings.assistant.public_use_case is not None:
        return settings
    assistant = settings.assistant.model_copy(update={"public_use_case": demo_setup.REFERENCE})
    return settings.model_copy(update={"assistant": assistant})


def serve(
    host: str = typer.Option(None, help="Interface to listen on (default from settings: 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default from settings: 8000)."),
    demo: bool = typer.Option(
        False, "--demo", help="Create the DEMO tenant, use case and an app key (saved in data_dir) first."
    ),
) -> None:
    """Start the gateway."""
    settings = load_settings()
    logs.configure(settings.server.log_level, settings.server.log_format)
    if demo:
        _provision_demo(settings)
        _demo_collection(settings)
        settings = with_public_page(settings)
    guard = StartupGuard(create_app(settings))
    try:
        uvicorn.run(
            guard,
            host=host or settings.server.host,
            port=port or settings.server.port,
            log_level="warning",
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
    except SystemExit:  # uvicorn exits with status 3 when start-up fails
        if guard.refused is None:
            raise
    if guard.refused is not None:
        print(f"souverain cannot start: {guard.refused}", file=sys.stderr)
        raise typer.Exit(1)
