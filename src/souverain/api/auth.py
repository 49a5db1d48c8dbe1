"""Authentication and role dependencies: /v1 needs an app key, /admin an admin (auditor: read-only) key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from souverain.api.deps import ServicesDep
from souverain.errors import Forbidden
from souverain.governance.principal import Principal, Role


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller, authenticated by bearer key (401 otherwise); kept on request.state for later stages."""
    if services.anonymous is not None:
        request.state.principal = services.anonymous
        return services.anonymous
    principal = await services.authenticator.authenticate(request.headers.get("authorization"))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(
                f"This key has the role {principal.role.value!r}; this operation needs: {allowed}.",
                code="insufficient_role",
            )
        return principal

    return check


AppPrincipal = Annotated[Principal, Depends(require_roles(Role.APP))]
AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
ReaderPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]
OperatorPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))]
