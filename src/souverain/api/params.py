"""Query and path parameter types shared by the routes: numbers and times the databases can hold.

A query string carries integers of any size and times in any offset; an id beyond what its column holds
or a time that leaves the calendar once converted to UTC would otherwise fail in the database driver, as
a 500. These types refuse them at the edge, with a 400 that names the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from souverain.errors import InvalidRequest
from souverain.storage.orm import MAX_ROW_ID


def _between(low: int, high: int, what: str) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"{what} runs from {low} to {high}")
        return value

    return AfterValidator(check)


RowId = Annotated[int, _between(1, MAX_ROW_ID, "an id")]
"""The id of a row (an ``Integer`` primary key: 32 bits on PostgreSQL)."""

HttpStatus = Annotated[int, _between(100, 599, "an HTTP status")]
"""An HTTP status code."""

_NUMBER = re.compile(r"\s*[+-]?[0-9]+(\.[0-9]*)?\s*")


def _not_a_number(value: Any) -> Any:
    # pydantic reads a bare number as Unix time: "since=0" would silently mean 1970
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("give an ISO 8601 time such as 2026-01-31 or 2026-01-31T08:00:00Z, not a number")
    return value


def _in_utc(value: datetime) -> datetime:
    # every stored time is UTC; a time without an offset is taken as UTC
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the years 1 to 9999 once converted to UTC") from None


Moment = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_in_utc)]
"""An ISO 8601 time, returned in UTC (a time without an offset is UTC)."""


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a time window that ends before it starts."""
    if since is not None and until is not None and since > until:
        raise InvalidRequest("until is earlier than since.", param="until", code="invalid_value")
