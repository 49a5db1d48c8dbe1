"""The GDPR API: subject access export, erasure, and the register of processing activities.

The subject travels in the request body, never in the URL (URLs end up in access logs). Export by the
person's identifier and erasure are for admin keys; auditor keys export by pseudonymous identifier only,
which never returns clear values. Both are recorded in the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from souverain.api.admin_routes import RegistryDep
from souverain.api.auth import AdminPrincipal, ReaderPrincipal
from souverain.api.deps import ServicesDep
from souverain.errors import BackendUnavailable, Forbidden
from souverain.gdpr import register
from souverain.gdpr.rights import SubjectRights
from souverain.gdpr.subject import is_pseudonymous
from souverain.governance.principal import Role
from souverain.governance.registry import Registry
from souverain.state import Services

router = APIRouter(prefix="/admin/gdpr", tags=["gdpr"])


class SubjectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        min_length=1,
        max_length=200,
        description="A pseudonymous subject identifier (subj_...), a matricule, an e-mail address, a "
        "national number, an IBAN or a phone number.",
    )


async def get_rights(services: ServicesDep) -> SubjectRights:
    """The rights service; unavailable (503) when the audit trail is not the application's own. Usage
    records still queued are written first: a request made just before is exported or erased too."""
    if services.rights is None:
        raise BackendUnavailable("Subject rights need the audit trail, which is not available.")
    await services.usage.flush()
    return services.rights


RightsDep = Annotated[SubjectRights, Depends(get_rights)]


@router.post("/export")
async def export_subject(
    body: SubjectRequest, principal: ReaderPrincipal, rights: RightsDep
) -> dict[str, Any]:
    """The person's own records, by store (recorded as a ``gdpr.export`` event first).

    Least privilege: only an admin key may name the person by an identifier (a matricule, an e-mail
    address...), and gets back that identifier's values only, never other people's. Named by its
    pseudonymous ``subj_`` identifier (auditor or admin), the export holds no clear value at all: the
    auditor reads the trail, and re-identifying the people it names is not reading.
    """
    if principal.role is not Role.ADMIN and not is_pseudonymous(body.subject):
        raise Forbidden(
            "An auditor key exports by pseudonymous subject identifier (subj_...) only; naming the person "
            "needs an admin key.",
            code="insufficient_role",
            param="subject",
        )
    return await anyio.to_thread.run_sync(rights.export, body.subject, principal.key_prefix)


@router.post("/erase")
async def erase_subject(body: SubjectRequest, principal: AdminPrincipal, rights: RightsDep) -> dict[str, Any]:
    """Remove a person from every store and clear them from the trail (a ``gdpr.erase`` event)."""
    erasure = await anyio.to_thread.run_sync(rights.erase, body.subject, principal.key_prefix)
    return erasure.__dict__


@router.get("/register", response_model=None)
async def processing_register(
    _: ReaderPrincipal,
    registry: RegistryDep,
    services: ServicesDep,
    format: Annotated[Literal["json", "markdown"], Query(description="json or markdown")] = "json",
) -> dict[str, Any] | PlainTextResponse:
    """The register of processing activities (Art. 30); 400 listing the gaps when incomplete."""
    built = await _register(registry, services)
    if format == "markdown":
        return PlainTextResponse(register.markdown(built), media_type="text/markdown; charset=utf-8")
    return built.as_json()


async def _register(registry: Registry, services: Services) -> register.Register:
    tenants, use_cases = await registry.list_tenants(), await registry.list_use_cases()
    return register.build(tenants, use_cases, services.settings)
