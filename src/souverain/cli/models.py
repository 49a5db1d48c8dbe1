"""``souverain models``: the configured model aliases and their backends."""

from __future__ import annotations

from souverain.cli.common import load_settings


def list_models() -> None:
    """List public model names, their type and the backends that serve them."""
    settings = load_settings()
    for model in settings.models:
        routes = ", ".join(
            f"{r.backend}({settings.backends[r.backend].zone.value}, priority {r.priority})"
            for r in model.routes
        )
        print(f"{model.name}\t{model.type}\t{routes}")
