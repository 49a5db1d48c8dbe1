"""``souverain keys``: create, list and revoke API keys."""

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
from souverain.governance.principal import Role
from souverain.governance.schemas import KeyCreate

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

UseCaseOption = Annotated[
    str | None, typer.Option("--use-case", help="The use case of an app key: 'tenant/use-case' or its id.")
]


@app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="Role of the key.")] = Role.APP,
    use_case: UseCaseOption = None,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    expires_in_days: Annotated[int | None, typer.Option(help="Validity in days (default: settings).")] = None,
    requests_per_minute: RequestsPerMinute = None,
    tokens_per_minute: TokensPerMinute = None,
    tokens_per_day: TokensPerDay = None,
) -> None:
    """Create a key and print it alone on standard output (it is shown only once)."""
    data = validated(
        KeyCreate,
        {
            "name": name,
            "role": role,
            "use_case": use_case,
            "expires_in_days": expires_in_days,
            "quotas": quotas(requests_per_minute, tokens_per_minute, tokens_per_day),
        },
    )
    with open_registry(load_settings()) as registry:
        created = run(registry.create_key(data, actor()))
    scope = f" for {created.use_case}" if created.use_case else ""
    say(
        f"Created the {created.role.value} key {created.prefix}{scope} "
        f"(expires {created.expires_at:%Y-%m-%d}). It is printed below and will not be shown again."
    )
    print(created.key)


@app.command("list")
def list_keys(
    tenant: Annotated[str | None, typer.Option(help="Only the keys of this tenant.")] = None,
    use_case: UseCaseOption = None,
    as_json: AsJson = False,
) -> None:
    """List keys (never their secrets)."""
    with open_registry(load_settings()) as registry:
        found = run(registry.list_keys(tenant, use_case))
    if as_json:
        print_json(found)
        return
    print_table(
        ["prefix", "role", "status", "use case", "name", "expires", "last used"],
        [
            [
                k.prefix,
                k.role.value,
                k.status,
                k.use_case,
                k.name or None,
                _day(k.expires_at),
                _day(k.last_used_at),
            ]
            for k in found
        ],
    )


@app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. souv_ab12cd34ef56.")]) -> None:
    """Revoke a key: it stops working on the next request."""
    with open_registry(load_settings()) as registry:
        revoked = run(registry.revoke_key(prefix, actor()))
    say(f"Revoked the key {revoked.prefix}.")


def _day(moment: object) -> str | None:
    return None if moment is None else f"{moment:%Y-%m-%d %H:%M}"
