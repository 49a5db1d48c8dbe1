"""The embedded demo: a tenant and a use case clearly labelled as a demonstration, and fresh app keys for it.

Used by ``souverain admin demo`` and ``souverain serve --demo``. The tenant and use case are created
when missing (each with its event); every call issues a new app key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from souverain.errors import Conflict, NotFound, Unauthenticated
from souverain.governance.auth import KeyAuthenticator
from souverain.governance.registry import Actor, Registry
from souverain.governance.schemas import (
    KeyCreate,
    KeyCreated,
    Language,
    Quotas,
    TenantCreate,
    UseCaseCreate,
    UseCaseUpdate,
)
from souverain.settings import Classification

TENANT = "demo"
USE_CASE = "demo-assistant"
REFERENCE = f"{TENANT}/{USE_CASE}"

NOTICES = {
    "fr": "DÉMO — Vous échangez avec une intelligence artificielle, pas avec une personne. "
    "Ses réponses peuvent être inexactes : vérifiez-les auprès de l'administration.",
    "de": "DEMO — Sie sprechen mit einer künstlichen Intelligenz, nicht mit einem Menschen. "
    "Ihre Antworten können fehlerhaft sein: Prüfen Sie sie bei der Verwaltung nach.",
    "en": "DEMO — You are talking to an artificial intelligence, not a person. "
    "Its answers may be wrong: check them with the administration.",
    "lb": "DEMO — Dir schwätzt mat enger kënschtlecher Intelligenz, net mat engem Mënsch. "
    "Hir Äntwerte kënne falsch sinn: kontrolléiert se bei der Verwaltung.",
}
QUOTAS = Quotas(requests_per_minute=600, tokens_per_minute=200_000, tokens_per_day=5_000_000)


@dataclass(frozen=True)
class DemoKey:
    """A new demo key, and whether this call had to create the tenant or the use case."""

    key: KeyCreated
    created_tenant: bool
    created_use_case: bool


def demo_use_case(models: list[str]) -> UseCaseCreate:
    """The demo use case, allowed to call ``models``."""
    return UseCaseCreate(
        name=USE_CASE,
        purpose="DEMO — demonstration of a citizen information assistant; not a public service.",
        legal_basis="DEMO — demonstration only, with fictitious questions; enter no personal data.",
        category="citizen_information_assistant",
        classification_ceiling=Classification.INTERNAL,
        allowed_models=models,
        retention_days=30,
        transparency_notice=cast("dict[Language, str]", NOTICES),  # the keys are languages
        quotas=QUOTAS,
        data_subjects=["DEMO — people trying the demonstration"],
        personal_data=["DEMO — none expected: questions about public procedures"],
        recipients=["DEMO — nobody: answers go back to the person asking"],
    )


async def _ensure_tenant(registry: Registry, actor: Actor) -> bool:
    try:
        tenant = await registry.get_tenant(TENANT)
    except NotFound:
        data = TenantCreate(name=TENANT, display_name="DEMO tenant (demonstration only)", quotas=QUOTAS)
        await registry.create_tenant(data, actor, is_demo=True)
        return True
    if not tenant.is_demo:
        raise Conflict(f"A tenant named {TENANT!r} exists and is not the demo tenant.", code="not_demo")
    return False


async def _ensure_use_case(registry: Registry, actor: Actor, models: list[str]) -> bool:
    try:
        use_case = await registry.get_use_case(REFERENCE)
    except NotFound:
        await registry.create_use_case(TENANT, demo_use_case(models), actor, is_demo=True)
        return True
    if not use_case.is_demo:
        raise Conflict(f"A use case {REFERENCE!r} exists and is not the demo use case.", code="not_demo")
    if use_case.allowed_models != models:  # follow the configuration: the demo may call every model
        await registry.update_use_case(REFERENCE, UseCaseUpdate(allowed_models=models), actor)
    if not use_case.data_subjects:  # registered before the register of processing existed
        expected = demo_use_case(models)
        fields = {name: getattr(expected, name) for name in ("data_subjects", "personal_data", "recipients")}
        await registry.update_use_case(REFERENCE, UseCaseUpdate(**fields), actor)
    return False


async def ensure_demo(registry: Registry, actor: Actor) -> DemoKey:
    """Create the demo tenant and use case if missing, and issue a new demo app key."""
    models = [m.name for m in registry.settings.models]
    created_tenant = await _ensure_tenant(registry, actor)
    created_use_case = await _ensure_use_case(registry, actor, models)
    key = await registry.create_key(
        KeyCreate(name="DEMO app key", use_case=REFERENCE, quotas=Quotas()), actor
    )
    return DemoKey(key=key, created_tenant=created_tenant, created_use_case=created_use_case)


async def _still_valid(registry: Registry, key: str) -> bool:
    try:
        principal = await KeyAuthenticator(registry.sessions).authenticate(f"Bearer {key}")
    except Unauthenticated:
        return False
    return principal.use_case is not None and principal.use_case.name == USE_CASE


async def reuse_or_issue_key(registry: Registry, actor: Actor, existing: str | None) -> tuple[str, bool]:
    """``existing`` if it is still a valid demo key, else a new one; and whether it is new.

    The demo use case follows the configured models each time.
    """
    if existing and await _still_valid(registry, existing):
        await _ensure_use_case(registry, actor, [m.name for m in registry.settings.models])
        return existing, False
    result = await ensure_demo(registry, actor)
    return result.key.key, True
