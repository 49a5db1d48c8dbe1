"""The registration rules a use case must satisfy (EU AI Act), checked on create and on every change.

- A prohibited practice (Art. 5) is refused, naming the article.
- A declared risk class must agree with the declared category (the category decides the risk).
- A high-risk use case (Annex III) needs a fundamental-rights impact assessment (Art. 27), a DPIA
  (GDPR Art. 35) and human approval of every outcome (Art. 14).
- Allowed models must be configured model aliases.
"""

from __future__ import annotations

from typing import Any

from souverain.errors import InvalidRequest, PolicyRefused
from souverain.governance import categories
from souverain.governance.categories import Risk
from souverain.governance.principal import Oversight
from souverain.settings import Settings

FIELDS = (
    "name",
    "purpose",
    "legal_basis",
    "category",
    "classification_ceiling",
    "allowed_models",
    "retention_days",
    "human_oversight",
    "transparency_notice",
    "fria_reference",
    "dpia_reference",
    "quotas",
)
"""The editable columns of a use case (``risk_class`` is derived from ``category``)."""


def _category(category_id: str) -> categories.Category:
    category = categories.get(category_id)
    if category is None:  # the request models already refuse unknown categories
        raise InvalidRequest(f"Unknown category {category_id!r}.", param="category", code="unknown_category")
    return category


def _high_risk_gaps(values: dict[str, Any]) -> list[str]:
    missing = []
    if not values.get("fria_reference"):
        missing.append("fria_reference (fundamental-rights impact assessment, AI Act Art. 27)")
    if not values.get("dpia_reference"):
        missing.append("dpia_reference (data protection impact assessment, GDPR Art. 35)")
    if values.get("human_oversight") != Oversight.APPROVE.value:
        missing.append("human_oversight=approve (human approval of every outcome, AI Act Art. 14)")
    return missing


def _check_models(models: list[str], settings: Settings) -> None:
    configured = [m.name for m in settings.models]
    unknown = [m for m in models if m not in configured]
    if unknown:
        raise InvalidRequest(
            f"Unknown model alias(es): {', '.join(unknown)}; configured: {', '.join(configured) or 'none'}.",
            param="allowed_models",
            code="unknown_model",
        )


def check(values: dict[str, Any], settings: Settings, *, check_models: bool) -> str:
    """Refuse a use case that breaks a rule; return its risk class (derived from the category)."""
    category = _category(values["category"])
    if category.risk is Risk.PROHIBITED:
        raise PolicyRefused(
            f"Use cases of category {category.id} are prohibited ({category.legal_reference}): "
            f"{category.description}",
            param="category",
            code="prohibited_practice",
        )
    declared = values.get("risk_class")
    if declared is not None and declared != category.risk.value:
        raise InvalidRequest(
            f"risk_class {declared!r} contradicts the category {category.id}, which is "
            f"{category.risk.value} risk ({category.legal_reference}); omit risk_class or declare "
            f"{category.risk.value!r}.",
            param="risk_class",
            code="risk_class_mismatch",
        )
    if category.risk is Risk.HIGH:
        missing = _high_risk_gaps(values)
        if missing:
            raise PolicyRefused(
                f"Use cases of category {category.id} are high-risk ({category.legal_reference}); "
                f"registration needs: {'; '.join(missing)}.",
                param="category",
                code="high_risk_requirements",
            )
    if check_models:
        _check_models(list(values.get("allowed_models") or []), settings)
    return category.risk.value
