"""Authentication and role dependencies: /v1 needs an app key, /admin an admin (auditor: read-only) key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from souverain.api.deps import ServicesDep
from souverain.errors import Forbidden, SouverainError, Unauthenticated
from souverain.events import Event, emit_or_refuse
from souverain.governance import keys
from souverain.governance.auth import bearer_token
from souverain.governance.principal import Principal, Role
from souverain.state import Services


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller, authenticated by bearer key (401 otherwise); kept on request.state for later stages."""
    if services.anonymous is not None:
        request.state.principal = services.anonymous
        return services.anonymous
    try:
        principal = await services.authenticator.authenticate(request.headers.get("authorization"))
    except Unauthenticated as exc:
        await _record_refusal(request, services, exc, actor=key_prefix(request.headers.get("authorization")))
        raise
    request.state.principal = principal
    return principal


def key_prefix(authorization: str | None) -> str | None:
    """The visible prefix of a presented key (never the secret), to name the actor of a failed attempt."""
    token = bearer_token(authorization)
    parts = keys.split(token) if token is not None else None
    return parts[0] if parts else None


async def _record_refusal(
    request: Request, services: Services, exc: SouverainError, actor: str | None
) -> None:
    """Key-use failures and role refusals are events too; if the sink refuses, so does the request (503)."""
    event = Event(
        action="auth.failure" if isinstance(exc, Unauthenticated) else "auth.forbidden",
        outcome="refused",
        request_id=str(request.scope.get("state", {}).get("request_id", "-")),
        actor=actor,
        status=exc.status_code,
        details={"code": exc.code, "path": request.url.path},
    )
    await emit_or_refuse(services.events, event)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    async def check(request: Request, services: ServicesDep, principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            refusal = Forbidden(
                f"This key has the role {principal.role.value!r}; this operation needs: {allowed}.",
                code="insufficient_role",
            )
            await _record_refusal(request, services, refusal, actor=principal.key_prefix)
            raise refusal
        return principal

    return check


AppPrincipal = Annotated[Principal, Depends(require_roles(Role.APP))]
AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
ReaderPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]
OperatorPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))]


async def get_citizen(request: Request, services: ServicesDep) -> Principal:
    """An app key's caller, or, for a request with no key, the citizen page's configured use case."""
    reference = services.settings.assistant.public_use_case
    if reference is None or services.anonymous is not None or request.headers.get("authorization"):
        return await require_roles(Role.APP)(request, services, await get_principal(request, services))
    principal = await services.authenticator.public(reference)
    request.state.principal = principal
    return principal


CitizenPrincipal = Annotated[Principal, Depends(get_citizen)]
