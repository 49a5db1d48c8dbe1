"""Helpers shared by the CLI commands: loading settings with one-line explanations of errors."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from souverain.settings import Settings, config_file_path


def explain(error: ValidationError) -> list[str]:
    """One line per configuration error: where, and what is wrong."""
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ())) or "(settings)"
        message = item.get("msg", "invalid").removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return lines


def load_settings() -> Settings:
    """The settings, or a clear exit 2 listing every error."""
    try:
        return Settings()
    except ValidationError as exc:
        print(f"invalid configuration (file {config_file_path()}, environment SOUVERAIN_*):", file=sys.stderr)
        for line in explain(exc):
            print(f"  {line}", file=sys.stderr)
        raise typer.Exit(2) from None
