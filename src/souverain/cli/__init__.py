"""The ``souverain`` command line."""

from __future__ import annotations

import typer

from souverain.cli import (
    admin,
    audit,
    chat,
    config,
    evaluate,
    gdpr,
    keys,
    knowledge,
    models,
    pii,
    serve,
    tenants,
    usage,
    usecases,
)

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
app.add_typer(admin.app, name="admin")
app.add_typer(keys.app, name="keys")
app.add_typer(tenants.app, name="tenants")
app.add_typer(usecases.app, name="usecases")
app.command("usage")(usage.usage)
app.add_typer(pii.app, name="pii")
app.add_typer(audit.app, name="audit")
app.add_typer(gdpr.app, name="gdpr")
app.add_typer(evaluate.app, name="eval")
app.command("ingest")(knowledge.ingest)
app.command("search")(knowledge.search)


def main() -> None:
    """Entry point of the console script."""
    app()
