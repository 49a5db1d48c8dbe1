"""Governance: tenants, use cases, API keys, quotas, usage accounting, trust zones and classification."""
