"""The register of processing activities (GDPR Art. 30(1)), generated from the use-case registry.

One activity per use case: controller, purpose, legal basis, categories of data subjects and of personal
data, recipients, where the data is processed (models, backends, trust zones, any transfer outside the
administration), retention, and the technical measures applied by the request path. A register with a
gap is not a register: ``build`` refuses with the list of what each use case lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from souverain.errors import InvalidRequest
from souverain.governance.schemas import TenantOut, UseCaseOut
from souverain.settings import Settings, Zone

REQUIRED = ("purpose", "legal_basis", "data_subjects", "personal_data", "recipients")
HIGH_RISK_REQUIRED = ("dpia_reference", "fria_reference")

_MEASURES = {
    "off": "no personal-data detection (identity needed by the purpose)",
    "detect": "personal data detected and counted",
    "pseudonymize": "personal data replaced by placeholders before any model sees it, restored in answers",
    "redact": "personal data removed before any model sees it",
    "block": "requests carrying personal data refused",
}


class RegisterIncomplete(InvalidRequest):
    """Some use cases lack fields the register needs; ``missing`` maps each to the fields it lacks."""

    def __init__(self, missing: dict[str, list[str]]) -> None:
        lines = "; ".join(f"{name}: {', '.join(fields)}" for name, fields in missing.items())
        super().__init__(f"The register is incomplete: {lines}.", code="register_incomplete")
        self.missing = missing


def missing_fields(use_case: UseCaseOut) -> list[str]:
    """The register fields ``use_case`` leaves empty."""
    required = REQUIRED + (HIGH_RISK_REQUIRED if use_case.risk_class == "high" else ())
    return [name for name in required if not getattr(use_case, name)]


def _processing(use_case: UseCaseOut, settings: Settings) -> list[dict[str, str]]:
    """Where each allowed model runs: its backends and their trust zones (or that it is not configured)."""
    configured = {model.name: model for model in settings.models}
    found = []
    for alias in use_case.allowed_models:
        model = configured.get(alias)
        if model is None:
            found.append({"model": alias, "backend": "not configured", "zone": "unknown"})
            continue
        for route in model.routes:
            backend = settings.backends.get(route.backend)
            zone = backend.zone.value if backend is not None else "unknown"
            found.append({"model": alias, "backend": route.backend, "zone": zone})
    return found


def activity(use_case: UseCaseOut, controller: str, settings: Settings) -> dict[str, Any]:
    """One use case's entry in the register."""
    processing = _processing(use_case, settings)
    floor = settings.audit.min_retention_days_high_risk if use_case.risk_class == "high" else 0
    return {
        "controller": controller,
        "activity": f"{use_case.tenant}/{use_case.name}",
        "purpose": use_case.purpose,
        "legal_basis": use_case.legal_basis,
        "data_subjects": use_case.data_subjects,
        "personal_data": use_case.personal_data,
        "recipients": use_case.recipients,
        "processing": processing,
        "transfers": sorted({p["backend"] for p in processing if p["zone"] == Zone.EXTERNAL.value}),
        "retention_days": use_case.retention_days,
        "audit_retention_days": max(use_case.retention_days, floor),
        "risk_class": use_case.risk_class,
        "human_oversight": use_case.human_oversight.value,
        "dpia_reference": use_case.dpia_reference,
        "fria_reference": use_case.fria_reference,
        "measures": [
            _MEASURES[use_case.privacy_policy.value],
            "hash-chained audit trail with signed checkpoints; keyed digests instead of content",
            "pseudonymisation vaults encrypted (AES-256-GCM), bound to their use case and conversation, "
            "expiring",
            "stored assistant conversations and hand-over questions encrypted at rest (AES-256-GCM)",
            "subject access exports mask other people's personal data detected in conversation texts",
            *_sweeping(settings),
        ],
    }


def _sweeping(settings: Settings) -> list[str]:
    """The scheduled deletion of expired personal data, when the server runs it."""
    interval = settings.privacy.purge_interval_s
    if not interval:
        return []
    return [
        f"expired conversations, vaults and subject links deleted every {interval:g} s, even without requests"
    ]


@dataclass(frozen=True)
class Register:
    generated_at: str
    activities: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at, "activities": self.activities}


def build(tenants: list[TenantOut], use_cases: list[UseCaseOut], settings: Settings) -> Register:
    """The register of every use case; ``RegisterIncomplete`` when any lacks a required field."""
    missing = {f"{u.tenant}/{u.name}": gaps for u in use_cases if (gaps := missing_fields(u))}
    if missing:
        raise RegisterIncomplete(missing)
    controllers = {t.name: t.display_name or t.name for t in tenants}
    activities = [activity(u, controllers.get(u.tenant, u.tenant), settings) for u in use_cases]
    return Register(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), activities)


def _items(values: list[str]) -> str:
    return ", ".join(values) if values else "none"


def markdown(register: Register) -> str:
    """The register as a Markdown document, one section per activity."""
    lines = ["# Register of processing activities (GDPR Art. 30)", "", f"Generated {register.generated_at}."]
    for entry in register.activities:
        where = [f"{p['model']} on {p['backend']} ({p['zone']})" for p in entry["processing"]]
        lines += [
            "",
            f"## {entry['activity']}",
            "",
            f"- **Controller:** {entry['controller']}",
            f"- **Purpose:** {entry['purpose']}",
            f"- **Legal basis:** {entry['legal_basis']}",
            f"- **Data subjects:** {_items(entry['data_subjects'])}",
            f"- **Personal data:** {_items(entry['personal_data'])}",
            f"- **Recipients:** {_items(entry['recipients'])}",
            f"- **Processing:** {_items(where)}",
            f"- **Transfers outside the administration:** {_items(entry['transfers'])}",
            f"- **Retention:** {entry['retention_days']} days "
            f"(audit trail: {entry['audit_retention_days']} days)",
            f"- **AI Act risk class:** {entry['risk_class']}; human oversight: {entry['human_oversight']}",
            f"- **DPIA:** {entry['dpia_reference'] or 'not required'}; "
            f"**FRIA:** {entry['fria_reference'] or 'not required'}",
            f"- **Measures:** {'; '.join(entry['measures'])}",
        ]
    return "\n".join(lines) + "\n"
