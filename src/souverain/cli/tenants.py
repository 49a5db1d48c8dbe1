"""``souverain tenants``: create and list tenants (administrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from souverain.cli.common import load_settings
from souverain.cli.governance import (
    AsJson,
    RequestsPerMinute,
    TokensPerDay,
    TokensPerMinute,
    actor,
    open_registry,
    print_json,
    print_table,
    quotas,
    run,
    say,
    validated,
)
from souverain.governance.schemas import TenantCreate

app = typer.Typer(help="Create and list tenants (administrations).", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Short name: lowercase letters, digits and hyphens.")],
    display_name: Annotated[str, typer.Option(help="Human-readable name.")] = "",
    requests_per_minute: RequestsPerMinute = None,
    tokens_per_minute: TokensPerMinute = None,
    tokens_per_day: TokensPerDay = None,
) -> None:
    """Register a tenant."""
    data = validated(
        TenantCreate,
        {
            "name": name,
            "display_name": display_name,
            "quotas": quotas(requests_per_minute, tokens_per_minute, tokens_per_day),
        },
    )
    with open_registry(load_settings()) as registry:
        created = run(registry.create_tenant(data, actor()))
    say(f"Created the tenant {created.name} (id {created.id}).")


@app.command("list")
def list_tenants(as_json: AsJson = False) -> None:
    """List tenants."""
    with open_registry(load_settings()) as registry:
        found = run(registry.list_tenants())
    if as_json:
        print_json(found)
        return
    rows = [
        [t.name, t.display_name or None, t.use_cases, "yes" if t.is_demo else "", t.quotas or None]
        for t in found
    ]
    print_table(["name", "display name", "use cases", "demo", "quotas"], rows)
