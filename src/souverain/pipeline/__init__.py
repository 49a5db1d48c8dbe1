"""The request pipeline: stages sharing one interface around every model call.

    authenticate → access (use case, model, classification) → quota → [privacy, guard] → route → backend
                 → [privacy restore] → quota settle → usage accounting → event

Each stage may annotate the call, transform it, or refuse it by raising; ``after`` hooks run in reverse
order once the outcome is known, for refusals and failures too.
"""
