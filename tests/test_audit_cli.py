"""The other ``souverain audit`` commands, in-process through typer's runner (the verification and
proof commands also run as subprocesses in test_audit_tamper, test_audit_verify and test_audit_retention)."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from souverain.audit.exports import FileExporter
from souverain.cli import app
from tests.audit_support import fill, open_store, write_config


def test_checkpoint_public_key_verify_and_refusals(tmp_path: Path) -> None:
    url, data_dir, exported = f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data", tmp_path / "w" / "cp.jsonl"
    with open_store(url, data_dir) as store:
        fill(store, 1, 12)
    env = {"SOUVERAIN_CONFIG": str(write_config(tmp_path / "souverain.toml", url, data_dir, exported))}
    runner = CliRunner()

    written = runner.invoke(app, ["audit", "checkpoint", "--json"], env=env)
    assert written.exit_code == 0, written.stderr
    checkpoint = json.loads(written.stdout)
    assert checkpoint["tree_size"] == 12
    assert [c.as_json() for c in FileExporter(exported).read()] == [checkpoint]  # the configured copy

    pem = runner.invoke(app, ["audit", "public-key"], env=env).stdout
    key = serialization.load_pem_public_key(pem.encode())
    assert len(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)) == 32

    intact = runner.invoke(app, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.stderr
    assert intact.stdout.startswith("intact: 12 events, 2 checkpoints verified")  # stored and exported

    missing = runner.invoke(app, ["audit", "prove", "13"], env=env)
    assert (missing.exit_code, missing.stderr.strip()) == (2, "error: There is no audit event 13.")
    consistency = runner.invoke(app, ["audit", "consistency", "5"], env=env)
    assert consistency.exit_code == 2
    assert "no stored checkpoint of 5 events" in consistency.stderr

    purged = runner.invoke(app, ["audit", "purge"], env=env)
    assert purged.exit_code == 0, purged.stderr
    assert purged.stdout.strip() == "purged: 0 events in 0 ranges, recorded as event 13"
    with open_store(url, data_dir) as store, store.database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE audit_events SET outcome = 'error' WHERE seq = 3")
    tampered = runner.invoke(app, ["audit", "verify"], env=env)
    assert tampered.exit_code == 1
    assert tampered.stdout.startswith("NOT INTACT: edited event 3: ")
