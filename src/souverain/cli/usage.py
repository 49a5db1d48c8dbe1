"""``souverain usage``: request and token totals from the usage records, as a table or JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from souverain.cli.common import load_settings
from souverain.cli.governance import AsJson, open_database, print_json, print_table
from souverain.errors import SouverainError
from souverain.governance.usage import UsageFilter, UsageStore, parse_groups

Opt = typer.Option
_COLUMNS = ["requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "avg_duration_ms"]


def usage(
    group_by: Annotated[str, Opt(help="Comma-separated: tenant, use_case, model, day.")] = "",
    since: Annotated[datetime | None, Opt(help="From this UTC time (inclusive), e.g. 2025-01-31.")] = None,
    until: Annotated[datetime | None, Opt(help="Up to this UTC time (exclusive).")] = None,
    tenant: Annotated[str | None, Opt(help="Only this tenant.")] = None,
    use_case: Annotated[str | None, Opt(help="Only this use case (its name).")] = None,
    model: Annotated[str | None, Opt(help="Only this model alias.")] = None,
    status: Annotated[int | None, Opt(help="Only this HTTP status.")] = None,
    as_json: AsJson = False,
) -> None:
    """Show usage totals, grouped as asked."""
    try:
        groups = parse_groups(group_by)
    except SouverainError as exc:
        raise typer.BadParameter(exc.message, param_hint="--group-by") from None
    filters = UsageFilter(since, until, tenant, use_case, model, status)
    with open_database(load_settings()) as database:
        rows = UsageStore(database.sessions).query(filters, groups)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    table = [[*row.group.values(), *(getattr(row, column) for column in _COLUMNS)] for row in rows]
    print_table([*groups, *_COLUMNS], table)
