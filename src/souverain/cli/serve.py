"""``souverain serve``: run the HTTP server.

A start-up refusal we raise on purpose (weights that fail their sha256 check, a backend that cannot
load) ends the command with its message and exit status 1, not with a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
import uvicorn

from souverain import logs
from souverain.app import create_app
from souverain.bundled import ModelIntegrityError
from souverain.cli.common import load_settings
from souverain.errors import SouverainError

_REFUSALS = (ModelIntegrityError, SouverainError)

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


def serve(
    host: str = typer.Option(None, help="Interface to listen on (default from settings: 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default from settings: 8000)."),
) -> None:
    """Start the gateway."""
    settings = load_settings()
    logs.configure(settings.server.log_level, settings.server.log_format)
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
