"""The admin API under /admin: tenants, use cases, keys, backends, usage and the category list.

Writes need an admin key; reads an admin or auditor key (operators may also read backends and usage).
Handlers validate, call the registry and return; the registry emits each change's event.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from souverain.api.auth import AdminPrincipal, OperatorPrincipal, ReaderPrincipal
from souverain.api.deps import ServicesDep
from souverain.api.params import HttpStatus, Moment, RowId, check_window
from souverain.governance import categories
from souverain.governance.registry import Actor, Registry
from souverain.governance.schemas import (
    CategoryOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    TenantCreate,
    TenantOut,
    UseCaseCreate,
    UseCaseOut,
    UseCaseUpdate,
)
from souverain.governance.usage import UsageFilter, UsageStore, parse_groups
from souverain.logs import request_id_var

router = APIRouter(prefix="/admin", tags=["admin"])


async def get_registry(services: ServicesDep) -> Registry:
    """The registry over the application's database and event sink."""
    joined = services.audit.store if services.audit is not None else None
    return Registry(services.database.sessions, services.settings, services.events, joined)


async def get_admin(principal: AdminPrincipal) -> Actor:
    """The admin making a change, as named in its event."""
    return Actor(name=principal.key_prefix, request_id=request_id_var.get())


RegistryDep = Annotated[Registry, Depends(get_registry)]
AdminActor = Annotated[Actor, Depends(get_admin)]


# -- tenants ---------------------------------------------------------------------------------------


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantCreate, registry: RegistryDep, actor: AdminActor) -> TenantOut:
    return await registry.create_tenant(body, actor)


@router.get("/tenants")
async def list_tenants(registry: RegistryDep, _: ReaderPrincipal) -> list[TenantOut]:
    return await registry.list_tenants()


@router.get("/tenants/{name}")
async def get_tenant(name: str, registry: RegistryDep, _: ReaderPrincipal) -> TenantOut:
    return await registry.get_tenant(name)


@router.delete("/tenants/{name}", status_code=204, response_class=Response)
async def delete_tenant(name: str, registry: RegistryDep, actor: AdminActor) -> Response:
    await registry.delete_tenant(name, actor)
    return Response(status_code=204)  # no body, so no content type


# -- use cases -------------------------------------------------------------------------------------


@router.post("/tenants/{tenant}/use-cases", status_code=201)
async def create_use_case(
    tenant: str, body: UseCaseCreate, registry: RegistryDep, actor: AdminActor
) -> UseCaseOut:
    return await registry.create_use_case(tenant, body, actor)


@router.get("/use-cases")
async def list_use_cases(
    registry: RegistryDep, _: ReaderPrincipal, tenant: str | None = None
) -> list[UseCaseOut]:
    return await registry.list_use_cases(tenant)


@router.get("/use-cases/{use_case_id}")
async def get_use_case(use_case_id: RowId, registry: RegistryDep, _: ReaderPrincipal) -> UseCaseOut:
    return await registry.get_use_case(use_case_id)


@router.patch("/use-cases/{use_case_id}")
async def update_use_case(
    use_case_id: RowId, body: UseCaseUpdate, registry: RegistryDep, actor: AdminActor
) -> UseCaseOut:
    return await registry.update_use_case(use_case_id, body, actor)


@router.delete("/use-cases/{use_case_id}", status_code=204, response_class=Response)
async def delete_use_case(use_case_id: RowId, registry: RegistryDep, actor: AdminActor) -> Response:
    await registry.delete_use_case(use_case_id, actor)
    return Response(status_code=204)


# -- keys ------------------------------------------------------------------------------------------


@router.post("/keys", status_code=201)
async def create_key(body: KeyCreate, registry: RegistryDep, actor: AdminActor) -> KeyCreated:
    return await registry.create_key(body, actor)


@router.get("/keys")
async def list_keys(
    registry: RegistryDep, _: ReaderPrincipal, tenant: str | None = None, use_case: str | None = None
) -> list[KeyOut]:
    return await registry.list_keys(tenant, use_case)


@router.post("/keys/{prefix}/revoke")
async def revoke_key(prefix: str, registry: RegistryDep, actor: AdminActor) -> KeyOut:
    return await registry.revoke_key(prefix, actor)


# -- backends, usage, categories -------------------------------------------------------------------


@router.get("/backends")
async def list_backends(services: ServicesDep, _: OperatorPrincipal) -> list[dict[str, Any]]:
    settings = services.settings
    return [
        {
            "name": name,
            "kind": backend.kind,
            "zone": backend.zone.value,
            "clearance": backend.clearance.value,
            "models": [m.name for m in settings.models if any(r.backend == name for r in m.routes)],
            "health": services.router.health.report(name),
        }
        for name, backend in settings.backends.items()
    ]


@router.get("/usage")
async def usage(
    services: ServicesDep,
    _: OperatorPrincipal,
    since: Moment | None = None,
    until: Moment | None = None,
    tenant: str | None = None,
    use_case: str | None = None,
    model: str | None = None,
    status: HttpStatus | None = None,
    group_by: Annotated[str, Query(description="Comma-separated: tenant, use_case, model, day.")] = "",
) -> list[dict[str, Any]]:
    check_window(since, until)
    filters = UsageFilter(since, until, tenant, use_case, model, status)
    await services.usage.flush()  # this process's queued rows count too
    rows = await UsageStore(services.database.sessions).aquery(filters, parse_groups(group_by))
    return [row.as_dict() for row in rows]


@router.get("/categories")
async def list_categories(_: ReaderPrincipal) -> list[CategoryOut]:
    return [CategoryOut.of(category) for category in categories.CATEGORIES.values()]
