"""The canary: a matricule, an IBAN, a +352 number, an e-mail and a name go through every endpoint, with
authentication on and real keys; afterwards no clear value is in the logs, usage records, events (in memory
and in the durable audit trail), the database or any file under the data directory (GDPR Art. 25, 32)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from souverain.events import Event, LogSink, MemorySink
from souverain.governance.models import UsageRecord
from souverain.privacy.detector import Detector
from souverain.settings import Settings
from souverain.storage.database import Database
from tests.privacy_support import CANARY, NAME, Gateway, bearer, gateway, leaks, privacy_settings

pytestmark = pytest.mark.anyio


class TeeSink(MemorySink):
    """Keeps events and also writes them to the log, so that the log check covers them twice."""

    async def emit(self, event: Event) -> None:
        await super().emit(event)
        await LogSink().emit(event)


async def converse(gw: Gateway, key: str) -> list[str]:
    """Send the canary through every endpoint; returns what the client got back (restored)."""
    conversation = {**bearer(key), "X-Conversation-Id": "canary-1"}
    first = await gw.chat(key, CANARY, headers={"X-Conversation-Id": "canary-1"})
    assert first.status_code == 200, first.text
    answer = first.json()["choices"][0]["message"]["content"]
    history: list[dict[str, Any]] = [
        {"role": "system", "content": f"Dossier de {NAME}."},
        {"role": "user", "content": CANARY},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": [{"type": "text", "text": f"Confirmez pour {NAME}, s'il vous plaît."}]},
    ]
    body = {"model": "chat-fake", "messages": history, "stream": True}
    async with gw.client.stream("POST", "/v1/chat/completions", json=body, headers=conversation) as r:
        assert r.status_code == 200
        streamed = "".join([line async for line in r.aiter_lines()])
    embeddings = await gw.client.post(
        "/v1/embeddings", json={"model": "embed-fake", "input": [CANARY, NAME]}, headers=bearer(key)
    )
    assert embeddings.status_code == 200, embeddings.text
    analyzed = await gw.client.post("/v1/privacy/analyze", json={"text": CANARY}, headers=bearer(key))
    assert analyzed.status_code == 200
    pseudonymized = await gw.client.post(
        "/v1/privacy/pseudonymize", json={"text": CANARY, "conversation_id": "canary-1"}, headers=bearer(key)
    )
    assert pseudonymized.status_code == 200
    assert leaks(analyzed.text) == leaks(pseudonymized.text) == []
    return [answer, streamed]


def stored(settings: Settings) -> tuple[list[UsageRecord], list[str]]:
    """The usage records and the audit events (as text) in the database, read after shutdown."""
    database = Database(settings.resolved_database_url)
    try:
        with database.sessions() as session:
            usage = list(session.scalars(select(UsageRecord)))
            audit = [str(row) for row in session.execute(text("SELECT * FROM audit_events"))]
        return usage, audit
    finally:
        database.close()


def data_files(root: Path) -> dict[Path, bytes]:
    """Every file under the data directory, read in full."""
    return {path: path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("durable_events", [False, True], ids=["memory-events", "audit-trail"])
async def test_no_clear_value_is_left_anywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, durable_events: bool
) -> None:
    # another test may have configured souverain's loggers not to propagate; caplog listens at the root
    monkeypatch.setattr(logging.getLogger("souverain"), "propagate", True)
    caplog.set_level(logging.DEBUG)
    settings = privacy_settings(tmp_path)
    sink = TeeSink()
    async with gateway(settings, Detector(), sink=sink, durable_events=durable_events) as gw:
        key = await gw.key("pseudonymize")
        answers = await converse(gw, key)
        received = [*gw.backend().calls, *gw.backend().embedded]
        assert gw.services.vault.count() == 1
    usage, audit = stored(settings)
    events = repr(audit if durable_events else sink.events)
    # the data really went through, and came back restored to the client only
    assert [bool(leaks(answer)) for answer in answers] == [True, True]
    assert len(usage) == 3
    for action in ("chat.completion", "embeddings", "privacy.analyze", "privacy.pseudonymize"):
        assert action in events
    for entity_type in ("LU_MATRICULE", "IBAN", "PHONE", "EMAIL", "PERSON"):
        assert entity_type in events
    assert any("privacy pseudonymize" in r.getMessage() for r in caplog.records)  # the log was captured
    assert leaks(str(received)) == [], "a backend saw clear values"
    assert leaks("\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)) == [], "logs"
    assert leaks(repr(usage) + str([vars(u) for u in usage])) == [], "usage records"
    assert leaks(events) == [], "events"
    files = data_files(settings.data_dir)
    assert settings.data_dir / "souverain.db" in files
    assert any(path.name == "privacy-vault.key" for path in files)
    for path, content in files.items():
        for value in leaks(content.decode("latin-1")) + leaks(content.decode("utf-8", errors="ignore")):
            pytest.fail(f"{value!r} found in {path.relative_to(settings.data_dir)}")
