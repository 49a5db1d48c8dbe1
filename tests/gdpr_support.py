"""A data-protection officer's office for the GDPR tests: a gateway with durable events, an app key that
converses, and admin and auditor keys that export and erase through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from souverain.audit.checkpoints import stored_checkpoints
from souverain.audit.verify import verify
from tests.privacy_support import Gateway, bearer, gateway, privacy_settings

OTHER_EMAIL = "jean.muller@example.lu"


@dataclass
class Office:
    gateway: Gateway
    app_key: str
    admin: dict[str, str]
    auditor: dict[str, str]
    data_file: Path  # the SQLite database file

    async def converse(self, conversation: str, text: str, **headers: str) -> str:
        """One chat turn of ``conversation``; its request id (its usage record written)."""
        headers = {"X-Conversation-Id": conversation, **headers}
        r = await self.gateway.chat(self.app_key, text, headers=headers)
        assert r.status_code == 200, r.text
        await self.gateway.services.usage.flush()
        return r.headers["x-request-id"]

    async def export(self, subject: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = await self.gateway.client.post(
            "/admin/gdpr/export", json={"subject": subject}, headers=headers or self.admin
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def erase(self, subject: str) -> dict[str, Any]:
        r = await self.gateway.client.post("/admin/gdpr/erase", json={"subject": subject}, headers=self.admin)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def trail_intact(self) -> bool:
        audit = self.gateway.services.audit
        assert audit is not None
        return verify(audit.store, stored_checkpoints(audit.store)).intact


@asynccontextmanager
async def open_office(tmp_path: Path) -> AsyncIterator[Office]:
    """The office over a fresh SQLite database under ``tmp_path``."""
    settings = privacy_settings(tmp_path)
    async with gateway(settings, durable_events=True) as g:
        app_key = g.provision(use_case="assistant").key
        admin = bearer(g.provision(use_case="a", role="admin").key)
        auditor = bearer(g.provision(use_case="b", role="auditor").key)
        data_file = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        yield Office(g, app_key, admin, auditor, data_file)
