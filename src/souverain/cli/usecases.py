"""``souverain usecases``: register and list use cases, from options or from a JSON or TOML file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

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
from souverain.governance.schemas import UseCaseCreate

app = typer.Typer(help="Register and list use cases.", no_args_is_help=True)

Opt = typer.Option


def _load(path: Path | None) -> dict[str, Any]:
    """The fields in a JSON or TOML file (by extension), or none."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        say(f"error: cannot read {path}: {exc}")
        raise typer.Exit(2) from None
    if not isinstance(data, dict):
        say(f"error: {path} must hold one object with the use case's fields")
        raise typer.Exit(2)
    return data


def _notices(items: list[str]) -> dict[str, str]:
    """``lang=text`` options as a dictionary."""
    notices = {}
    for item in items:
        language, separator, text = item.partition("=")
        if not separator:
            say(f"error: --notice takes LANG=TEXT (e.g. en='You are talking to an AI.'); got {item!r}")
            raise typer.Exit(2)
        notices[language.strip()] = text.strip()
    return notices


@app.command("create")
def create(
    tenant: Annotated[str, typer.Argument(help="Name of the tenant.")],
    from_file: Annotated[
        Path | None, Opt(help="JSON or TOML file with the fields; options override it.")
    ] = None,
    name: Annotated[str | None, Opt(help="Short name: lowercase letters, digits and hyphens.")] = None,
    purpose: Annotated[str | None, Opt(help="What the use case is for.")] = None,
    legal_basis: Annotated[str | None, Opt(help="Legal basis of the processing.")] = None,
    category: Annotated[
        str | None, Opt(help="Declared category (see the admin API's /admin/categories).")
    ] = None,
    risk_class: Annotated[str | None, Opt(help="Optional; must agree with the category.")] = None,
    ceiling: Annotated[str | None, Opt(help="Highest data classification: public ... secret.")] = None,
    model: Annotated[list[str] | None, Opt(help="Allowed model alias (repeat the option).")] = None,
    retention_days: Annotated[int | None, Opt(help="Retention period in days.")] = None,
    oversight: Annotated[str | None, Opt(help="Human oversight: none, review or approve.")] = None,
    notice: Annotated[list[str] | None, Opt(help="Transparency notice LANG=TEXT (fr, de, en, lb).")] = None,
    fria: Annotated[str | None, Opt(help="Reference of the fundamental-rights impact assessment.")] = None,
    dpia: Annotated[str | None, Opt(help="Reference of the data protection impact assessment.")] = None,
    data_subject: Annotated[
        list[str] | None, Opt(help="Category of people the data is about, for the register (repeat).")
    ] = None,
    personal_data: Annotated[
        list[str] | None, Opt(help="Category of personal data processed, for the register (repeat).")
    ] = None,
    recipient: Annotated[
        list[str] | None, Opt(help="Recipient of the data, for the register (repeat).")
    ] = None,
    requests_per_minute: RequestsPerMinute = None,
    tokens_per_minute: TokensPerMinute = None,
    tokens_per_day: TokensPerDay = None,
) -> None:
    """Register a use case; prohibited practices and incomplete high-risk use cases are refused."""
    given = {
        "name": name,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "category": category,
        "risk_class": risk_class,
        "classification_ceiling": ceiling,
        "allowed_models": model,
        "retention_days": retention_days,
        "human_oversight": oversight,
        "transparency_notice": _notices(notice) if notice else None,
        "fria_reference": fria,
        "dpia_reference": dpia,
        "data_subjects": data_subject,
        "personal_data": personal_data,
        "recipients": recipient,
    }
    values = _load(from_file) | {field: value for field, value in given.items() if value is not None}
    limits = quotas(requests_per_minute, tokens_per_minute, tokens_per_day)
    if limits:
        values["quotas"] = {**values.get("quotas", {}), **limits}
    data = validated(UseCaseCreate, values)
    with open_registry(load_settings()) as registry:
        created = run(registry.create_use_case(tenant, data, actor()))
    label = f"{created.tenant}/{created.name}"
    say(f"Registered the use case {label} (id {created.id}, {created.risk_class} risk).")


@app.command("list")
def list_use_cases(
    tenant: Annotated[str | None, Opt(help="Only the use cases of this tenant.")] = None,
    as_json: AsJson = False,
) -> None:
    """List use cases."""
    with open_registry(load_settings()) as registry:
        found = run(registry.list_use_cases(tenant))
    if as_json:
        print_json(found)
        return
    rows = [
        [
            u.id,
            f"{u.tenant}/{u.name}",
            u.category,
            u.risk_class,
            u.classification_ceiling.value,
            u.human_oversight.value,
            ",".join(u.allowed_models) or None,
            "yes" if u.is_demo else "",
        ]
        for u in found
    ]
    print_table(["id", "use case", "category", "risk", "ceiling", "oversight", "models", "demo"], rows)
