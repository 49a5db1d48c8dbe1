"""``souverain config check``: validate the configuration and explain each error in one line."""

from __future__ import annotations

import sys

import typer

from souverain.backends import registry
from souverain.cli.common import load_settings
from souverain.settings import config_file_path

app = typer.Typer(help="Inspect and validate the configuration.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Validate settings (file and environment); exit 0 when valid, 2 otherwise."""
    settings = load_settings()
    problems = []
    for name, backend in settings.backends.items():
        try:
            registry.load(backend.kind)
        except ValueError as exc:
            problems.append(f"backends.{name}.kind: {exc}")
    if problems:
        print("invalid configuration:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        raise typer.Exit(2)
    source = config_file_path()
    where = str(source) if source.is_file() else "defaults and environment (no config file)"
    print(
        f"configuration is valid ({where}): {len(settings.backends)} backends, {len(settings.models)} models"
    )
