"""The ``souverain`` command line."""

from __future__ import annotations

import typer

from souverain.cli import chat, config, models, serve

app = typer.Typer(
    name="souverain",
    help="Sovereign generative-AI gateway for public administrations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("models")(models.list_models)
app.command("chat")(chat.chat)
app.add_typer(config.app, name="config")


def main() -> None:
    """Entry point of the console script."""
    app()
