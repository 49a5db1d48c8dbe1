"""Access stage: the use case must allow the model; the classification decides which backends may serve."""

from __future__ import annotations

from souverain.errors import Forbidden
from souverain.governance import classification
from souverain.pipeline.call import Call


class AccessStage:
    name = "access"

    async def before(self, call: Call) -> None:
        use_case = call.principal.use_case
        if use_case is None:
            raise Forbidden("This key is not bound to a use case and cannot call models.", code="no_use_case")
        if not call.principal.may_call_model(call.model.name):
            allowed = ", ".join(use_case.allowed_models) or "none"
            raise Forbidden(
                f"The use case {use_case.name!r} may not use the model {call.model.name!r} "
                f"(allowed: {allowed}).",
                param="model",
                code="model_not_allowed",
            )
        call.classification = classification.effective(
            use_case.classification_ceiling, call.requested_classification
        )
        call.allowed = classification.cleared_for(call.classification)

    async def after(self, call: Call) -> None:
        return None
