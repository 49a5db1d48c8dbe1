"""Citizen assistant: grounded answers from retrieved official pages, with citations, and hand-over to staff.

Retrieve → build a spotlighted prompt (sources are data, never instructions) → generate through the gateway's
chat service (so privacy, quotas, usage and audit apply as for any model call) → keep only citations that
point to a retrieved source → answer, or refuse plainly and offer a human when the sources do not answer.
"""
