"""The running app writes its calls and admin changes to the real audit trail, which then verifies."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from souverain.app import create_app
from souverain.audit.checkpoints import stored_checkpoints
from souverain.audit.models import EVENTS
from souverain.audit.verify import verify
from souverain.settings import GovernanceSettings
from tests.conftest import fake_settings
from tests.databases import database_url
from tests.governance_fixtures import provision

pytestmark = pytest.mark.anyio
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CHAT = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}], "max_tokens": 20}


@pytest.mark.parametrize("kind", KINDS)
async def test_calls_and_admin_changes_land_in_a_verifying_trail(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        settings = fake_settings(
            tmp_path, database_url=url, governance=GovernanceSettings(auth_required=True)
        )
        app = create_app(settings)  # no sink given: the durable audit trail
        async with app.router.lifespan_context(app):
            services = app.state.services
            app_key = provision(services.database.sessions)
            admin = provision(services.database.sessions, use_case="admin-uc", role="admin")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.post(
                    "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {app_key.key}"}
                )
                assert r.status_code == 200
                for stream in (False, True):
                    await client.post(
                        "/v1/chat/completions",
                        json={**CHAT, "stream": stream},
                        headers={"Authorization": f"Bearer {app_key.key}"},
                    )
                r = await client.post(
                    "/admin/tenants",
                    json={"name": "mfp", "display_name": "Fonction publique"},
                    headers={"Authorization": f"Bearer {admin.key}"},
                )
                assert r.status_code == 201, r.text
            store = services.audit.store
            with services.database.engine.connect() as connection:
                rows = connection.execute(select(EVENTS).order_by(EVENTS.c.seq)).all()
            checkpoint = services.audit.checkpointer.checkpoint()
            report = verify(store, stored_checkpoints(store))
        assert report.intact, report
        assert checkpoint.tree_size == len(rows)
        actions = [row.action for row in rows]
        assert actions.count("chat.completion") == 3
        assert "admin.tenant.create" in actions
        chat = next(row for row in rows if row.action == "chat.completion")
        assert len(chat.request_digest) == 64
        assert len(chat.response_digest) == 64
        assert chat.served_model == "chat-fake"
        assert "Bonjour" not in repr(chat)
