"""Data classification of a request and the trust-zone clearance of backends."""

from __future__ import annotations

from souverain.backends.base import Backend
from souverain.errors import Forbidden, InvalidRequest
from souverain.routing.router import BackendFilter
from souverain.settings import Classification

ORDER = (Classification.PUBLIC, Classification.INTERNAL, Classification.CONFIDENTIAL, Classification.SECRET)
HEADER = "X-Data-Classification"


def rank(level: Classification) -> int:
    return ORDER.index(level)


def effective(ceiling: Classification, requested: str | None) -> Classification:
    """The use case's ceiling, lowered (never raised) by the request's ``X-Data-Classification``."""
    if requested is None:
        return ceiling
    try:
        level = Classification(requested.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in ORDER)
        raise InvalidRequest(
            f"{HEADER} must be one of {allowed}; got {requested!r}.",
            param=HEADER,
            code="invalid_classification",
        ) from None
    if rank(level) > rank(ceiling):
        raise Forbidden(
            f"{HEADER} {level.value} is above this use case's ceiling ({ceiling.value}).",
            param=HEADER,
            code="classification_above_ceiling",
        )
    return level


def cleared_for(level: Classification) -> BackendFilter:
    """A router filter keeping only backends cleared for ``level``."""

    def allowed(backend: Backend) -> bool:
        return rank(backend.settings.clearance) >= rank(level)

    return allowed
