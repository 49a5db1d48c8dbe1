"""End to end: two ``souverain serve`` processes sharing PostgreSQL and Redis act as one gateway."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select

from souverain.governance.models import UsageRecord, UseCase
from souverain.storage.database import Database
from tests.databases import postgres_database
from tests.fakes.upstream import FakeUpstream
from tests.governance_fixtures import provision, revoke
from tests.servers import Server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(300)]

REDIS_URL = "redis://127.0.0.1:6379/0"
CHAT = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}], "max_tokens": 5}


def config(data_dir: Path, database_url: str, prefix: str) -> str:
    return f"""
data_dir = {json.dumps(str(data_dir))}
database_url = {json.dumps(database_url)}

[server]
log_format = "text"

[governance]
redis_url = "{REDIS_URL}"
redis_prefix = "{prefix}"

[backends.fake]
kind = "fake"

[[models]]
name = "chat-fake"
routes = [{{ backend = "fake" }}]
"""


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"souverain-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def _away_from_a_minute_boundary() -> None:
    """Quotas use fixed UTC-minute windows: keep a short burst inside one window."""
    second = time.time() % 60
    if second > 45:
        time.sleep(61 - second)


def test_two_processes_share_one_rate_limit_and_revocations(tmp_path: Path, prefix: str) -> None:
    with postgres_database() as url:
        db = Database(url)
        try:
            db.migrate()
            _run_scenario(db, url, tmp_path, prefix)
        finally:
            db.close()


def _run_scenario(db: Database, url: str, tmp_path: Path, prefix: str) -> None:
    key = provision(db.sessions, allowed_models=["chat-fake"], use_case_quotas={"requests_per_minute": 6})
    path = tmp_path / "souverain.toml"
    path.write_text(config(tmp_path / "data", url, prefix))
    with Server(path, tmp_path, "a") as a, Server(path, tmp_path, "b") as b:
        headers = {"Authorization": f"Bearer {key.key}"}
        _away_from_a_minute_boundary()
        statuses = []
        for index in range(10):  # alternate between the two processes
            server = (a, b)[index % 2]
            r = httpx.post(f"{server.base_url}/v1/chat/completions", json=CHAT, headers=headers, timeout=30)
            statuses.append(r.status_code)
        assert statuses.count(200) == 6, statuses
        assert statuses.count(429) == 4, statuses
        other = provision(db.sessions, use_case="second", allowed_models=["chat-fake"])
        other_headers = {"Authorization": f"Bearer {other.key}"}
        for server in (a, b):
            ok = httpx.post(f"{server.base_url}/v1/chat/completions", json=CHAT, headers=other_headers)
            assert ok.status_code == 200
        revoke(db.sessions, other.key_id)
        for server in (a, b):
            r = httpx.post(f"{server.base_url}/v1/chat/completions", json=CHAT, headers=other_headers)
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "revoked_api_key"


def test_a_client_leaving_mid_stream_is_charged_for_what_was_generated(tmp_path: Path, prefix: str) -> None:
    words = " ".join(f"mot{i}" for i in range(40))
    with FakeUpstream(reply=words, chunk_delay=0.05) as upstream:
        data_dir = tmp_path / "data"
        url = f"sqlite:///{tmp_path / 'gw.db'}"
        text = config(data_dir, url, prefix).replace(
            'kind = "fake"', f'kind = "openai"\nbase_url = "{upstream.base_url}"'
        )
        path = tmp_path / "souverain.toml"
        path.write_text(text)
        db = Database(url)
        try:
            db.migrate()
            key = provision(db.sessions, allowed_models=["chat-fake"])
            with Server(path, tmp_path) as server:
                body = {**CHAT, "stream": True, "max_tokens": 100}
                headers = {"Authorization": f"Bearer {key.key}"}
                received = 0
                with httpx.stream(
                    "POST", f"{server.base_url}/v1/chat/completions", json=body, headers=headers
                ) as r:
                    for line in r.iter_lines():
                        if '"content":"mot' in line or '"content":" mot' in line:
                            received += 1
                        if received == 5:
                            break  # the client leaves
                record = _wait_for_usage(db)
            assert record.outcome == "client_disconnected"
            assert record.status == 499
            assert 5 <= record.completion_tokens < 40
            assert upstream.aborted_streams == 1
        finally:
            db.close()


def _wait_for_usage(db: Database) -> UsageRecord:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with db.sessions() as session:
            record = session.scalars(select(UsageRecord)).first()
        if record is not None:
            return record
        time.sleep(0.2)
    pytest.fail("no usage record was written for the abandoned stream")


def test_serve_demo_provisions_a_labelled_demo_key_once(tmp_path: Path, prefix: str) -> None:
    data_dir = tmp_path / "data"
    text = config(data_dir, f"sqlite:///{tmp_path / 'demo.db'}", prefix).replace(
        f'redis_url = "{REDIS_URL}"', ""
    )
    path = tmp_path / "souverain.toml"
    path.write_text(text)
    key_file = data_dir / "demo-key.txt"
    with Server(path, tmp_path, "demo", extra_args=("--demo",)) as server:
        key = key_file.read_text().strip()
        assert key_file.stat().st_mode & 0o777 == 0o600
        headers = {"Authorization": f"Bearer {key}"}
        r = httpx.post(f"{server.base_url}/v1/chat/completions", json=CHAT, headers=headers, timeout=30)
        assert r.status_code == 200
        assert "DEMO mode" in server.tail()
    with Server(path, tmp_path, "demo-again", extra_args=("--demo",)) as server:
        assert key_file.read_text().strip() == key  # reused while valid
        assert "reusing the demo app key" in server.tail()
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        with db.sessions() as session:
            use_case = session.scalars(select(UseCase)).one()
        assert use_case.is_demo
        assert use_case.name == "demo-assistant"
        assert "DEMO" in use_case.purpose
    finally:
        db.close()
