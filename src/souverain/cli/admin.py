"""``souverain admin``: set up an installation (the first admin key, the demo tenant and its keys)."""

from __future__ import annotations

import typer

from souverain.cli.common import load_settings
from souverain.cli.governance import actor, open_registry, run, say
from souverain.governance import demo as demo_setup

app = typer.Typer(help="Set up an installation: the first admin key, the demo.", no_args_is_help=True)


@app.command("bootstrap")
def bootstrap(name: str = typer.Option("bootstrap", help="Name of the key.")) -> None:
    """Create the first admin key of a fresh installation and print it alone (refuses if one exists)."""
    settings = load_settings()
    with open_registry(settings) as registry:
        created = run(registry.bootstrap_admin(actor(), name))
    say(
        f"Created the first admin key {created.prefix} (expires {created.expires_at:%Y-%m-%d}). "
        "It is printed below and will not be shown again: store it now."
    )
    print(created.key)


@app.command("demo")
def demo() -> None:
    """Create the DEMO tenant and use case if missing, and print a new demo app key alone."""
    settings = load_settings()
    with open_registry(settings) as registry:
        result = run(demo_setup.ensure_demo(registry, actor()))
    if result.created_tenant or result.created_use_case:
        say(f"Created the DEMO use case {demo_setup.REFERENCE} (for demonstrations only).")
    say(
        f"Created the DEMO app key {result.key.prefix} for {demo_setup.REFERENCE} "
        f"(expires {result.key.expires_at:%Y-%m-%d}). It is printed below and will not be shown again."
    )
    print(result.key.key)
