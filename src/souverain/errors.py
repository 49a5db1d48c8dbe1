"""The exceptions souverain raises, each mapped to one HTTP status and OpenAI error type.

    SouverainError
    ├── InvalidRequest          400  invalid_request_error
    ├── Unauthenticated         401  authentication_error
    ├── Forbidden               403  permission_error
    │   └── PolicyRefused       403  policy_refused
    ├── NotFound                404  not_found_error
    ├── Conflict                409  conflict_error       (duplicate name, still in use, already done)
    ├── PayloadTooLarge         413  invalid_request_error
    ├── RateLimited             429  rate_limit_error
    ├── BackendError            502  upstream_error       (garbage or error from an upstream)
    ├── BackendUnavailable      503  service_unavailable  (no backend could take the request)
    ├── DetectionError          503  privacy_unavailable  (PII detection failed or ran out of time)
    └── BackendTimeout          504  upstream_timeout

They are raised anywhere and rendered once, by ``souverain.api.errors``.
"""

from __future__ import annotations


class SouverainError(Exception):
    """Base class: a message safe to show to the client, plus optional param and code."""

    status_code = 500
    error_type = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers: dict[str, str] = {}


class InvalidRequest(SouverainError):
    status_code = 400
    error_type = "invalid_request_error"


class Unauthenticated(SouverainError):
    status_code = 401
    error_type = "authentication_error"


class Forbidden(SouverainError):
    status_code = 403
    error_type = "permission_error"


class PolicyRefused(Forbidden):
    error_type = "policy_refused"


class NotFound(SouverainError):
    status_code = 404
    error_type = "not_found_error"


class Conflict(SouverainError):
    """The request clashes with the current state: a duplicate name, or something still in use."""

    status_code = 409
    error_type = "conflict_error"


class PayloadTooLarge(SouverainError):
    status_code = 413
    error_type = "invalid_request_error"


class RateLimited(SouverainError):
    status_code = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.headers["Retry-After"] = str(retry_after)


class BackendError(SouverainError):
    """The upstream answered, but with an error or something that is not a valid response."""

    status_code = 502
    error_type = "upstream_error"


class BackendUnavailable(SouverainError):
    """No backend could take the request (connection refused, cooling down, none cleared)."""

    status_code = 503
    error_type = "service_unavailable"


class DetectionError(SouverainError):
    """Personal-data detection failed or exceeded its time budget: the request is refused (fail closed)."""

    status_code = 503
    error_type = "privacy_unavailable"


class BackendTimeout(SouverainError):
    status_code = 504
    error_type = "upstream_timeout"


RETRIABLE = (BackendError, BackendUnavailable, BackendTimeout)
"""Failures after which the router may try the next backend (before the first streamed byte)."""
