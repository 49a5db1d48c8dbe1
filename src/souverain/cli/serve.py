"""``souverain serve``: run the HTTP server."""

from __future__ import annotations

import typer
import uvicorn

from souverain import logs
from souverain.app import create_app
from souverain.cli.common import load_settings


def serve(
    host: str = typer.Option(None, help="Interface to listen on (default from settings: 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default from settings: 8000)."),
) -> None:
    """Start the gateway."""
    settings = load_settings()
    logs.configure(settings.server.log_level, settings.server.log_format)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.server.host,
        port=port or settings.server.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
