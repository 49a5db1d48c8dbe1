"""The governance commands: the first ``admin bootstrap`` and ``admin demo`` run as real subprocesses (a
script captures their standard output, which must hold the key alone); the others run in-process through
typer's runner, which also keeps standard output and standard error apart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from souverain.cli import app
from souverain.governance.models import UsageRecord
from souverain.governance.usage import UsageStore
from souverain.storage.database import Database

KEY = re.compile(r"souv_[a-z0-9]{12}_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh installation: its own data directory, an empty configuration file."""
    (tmp_path / "empty.toml").write_text("")
    return {
        "SOUVERAIN_DATA_DIR": str(tmp_path / "data"),
        "SOUVERAIN_CONFIG": str(tmp_path / "empty.toml"),
    }


def souverain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from souverain.cli import main; main()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.timeout(240)  # two cold starts of the CLI: slow on a busy 2-core machine
def test_bootstrap_once_and_demo_keys_alone_on_stdout(env: dict[str, str]) -> None:
    runner = CliRunner()
    first = souverain(env, "admin", "bootstrap")
    assert first.returncode == 0, first.stderr
    assert KEY.fullmatch(first.stdout.strip())
    assert first.stdout.count("\n") == 1
    assert "will not be shown again" in first.stderr
    second = runner.invoke(app, ["admin", "bootstrap"], env=env)
    assert second.exit_code == 1
    assert second.stdout == ""
    assert "still usable" in second.stderr

    demo = souverain(env, "admin", "demo")
    assert demo.returncode == 0, demo.stderr
    assert KEY.fullmatch(demo.stdout.strip())
    assert demo.stdout.count("\n") == 1
    assert "DEMO" in demo.stderr
    again = runner.invoke(app, ["admin", "demo"], env=env)
    assert again.exit_code == 0, again.stderr
    assert KEY.fullmatch(again.stdout.strip())
    assert again.stdout.strip() != demo.stdout.strip()

    listed = runner.invoke(app, ["keys", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.stderr
    keys = json.loads(listed.stdout)
    assert sorted(k["role"] for k in keys) == ["admin", "app", "app"]
    assert {k["use_case"] for k in keys if k["role"] == "app"} == {"demo/demo-assistant"}
    assert not any(k.get("key") for k in keys)


def test_tenants_use_cases_keys_and_usage(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app, ["tenants", "create", "mfin", "--display-name", "Finances", "--tokens-per-day", "500"], env=env
    )
    assert r.exit_code == 0, r.stderr
    spec = tmp_path / "assistant.toml"
    spec.write_text(
        'name = "assistant"\npurpose = "Answer tax questions."\nlegal_basis = "GDPR Art. 6(1)(e)"\n'
        'category = "citizen_information_assistant"\nclassification_ceiling = "internal"\n'
        'allowed_models = ["chat-default"]\nretention_days = 30\n'
        '[transparency_notice]\nen = "You are talking to an AI."\n'
    )
    r = runner.invoke(
        app, ["usecases", "create", "mfin", "--from-file", str(spec), "--retention-days", "60"], env=env
    )
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(
        app,
        [
            "usecases",
            "create",
            "mfin",
            "--from-file",
            str(spec),
            "--name",
            "scoring",
            "--category",
            "social_scoring",
        ],
        env=env,
    )
    assert r.exit_code == 1
    assert "AI Act Art. 5(1)(c)" in r.stderr
    r = runner.invoke(app, ["usecases", "list", "--json"], env=env)
    [listed] = json.loads(r.stdout)
    assert (listed["name"], listed["retention_days"], listed["risk_class"]) == ("assistant", 60, "limited")

    r = runner.invoke(app, ["keys", "create", "--use-case", "mfin/assistant", "--name", "portal"], env=env)
    assert r.exit_code == 0, r.stderr
    assert KEY.fullmatch(r.stdout.strip())
    prefix = r.stdout.strip()[:17]
    r = runner.invoke(app, ["keys", "create", "--role", "app"], env=env)
    assert r.exit_code == 1
    assert r.stdout == ""
    r = runner.invoke(app, ["keys", "list"], env=env)
    assert prefix in r.stdout
    assert "active" in r.stdout
    r = runner.invoke(app, ["keys", "revoke", prefix], env=env)
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(app, ["keys", "list", "--use-case", "mfin/assistant", "--json"], env=env)
    assert [k["status"] for k in json.loads(r.stdout)] == ["revoked"]

    database = Database(f"sqlite:///{Path(env['SOUVERAIN_DATA_DIR']) / 'souverain.db'}")
    try:
        UsageStore(database.sessions).record(
            UsageRecord(
                request_id="r1",
                created_at=datetime(2025, 5, 4, 12, tzinfo=UTC),
                tenant="mfin",
                use_case="assistant",
                endpoint="chat.completion",
                model="chat-default",
                prompt_tokens=12,
                completion_tokens=30,
                duration_ms=250.0,
                status=200,
                outcome="success",
            )
        )
    finally:
        database.close()
    r = runner.invoke(app, ["usage", "--group-by", "tenant,day", "--json"], env=env)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == [
        {
            "tenant": "mfin",
            "day": "2025-05-04",
            "requests": 1,
            "errors": 0,
            "prompt_tokens": 12,
            "completion_tokens": 30,
            "total_tokens": 42,
            "avg_duration_ms": 250.0,
            "max_duration_ms": 250.0,
        }
    ]
    r = runner.invoke(app, ["usage", "--group-by", "model", "--since", "2025-06-01"], env=env)
    assert r.stdout.splitlines()[0].split()[:2] == ["model", "requests"]
    assert len(r.stdout.splitlines()) == 1  # no records since June: the header alone
