"""``souverain gdpr`` as an operator runs it, on SQLite and PostgreSQL: the register refuses with the gaps
until every use case is complete, then writes Markdown and JSON; export and erase find a person recorded
by the request path, erase them, and ``souverain audit verify`` still passes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from souverain.assistant.conversations import Answer, ConversationStore, Owner
from souverain.audit.models import EVENTS
from souverain.events import Event
from souverain.governance.models import UseCase
from souverain.privacy.entities import EntityType
from souverain.privacy.sealed_text import TextSealer
from souverain.privacy.subject_links import SubjectLinks
from souverain.privacy.subjects import SubjectKeys
from souverain.privacy.vault import VaultCipher, load_secret, vault_scope
from souverain.settings import PrivacySettings
from tests.audit_support import open_store, souverain, write_config
from tests.databases import database_url
from tests.governance_fixtures import provision
from tests.privacy_support import MATRICULE

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    process = souverain(config, *args)
    out, err = process.communicate(timeout=90)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize("kind", KINDS)
def test_register_lists_what_is_missing_then_is_written(tmp_path: Path, kind: str) -> None:
    data_dir = tmp_path / "data"
    with database_url(kind, tmp_path) as url, open_store(url, data_dir) as store:
        config = write_config(tmp_path / "souverain.toml", url, data_dir)
        provision(store.database.sessions, use_case="assistant")
        refused = _run(config, "gdpr", "register")
        assert refused.returncode == 1, refused.stderr
        assert "ministry/assistant: data_subjects, personal_data, recipients" in refused.stderr
        with store.database.sessions() as session:
            session.execute(
                update(UseCase).values(
                    data_subjects=["citizens"],
                    personal_data=["contact details"],
                    recipients=["helpdesk staff"],
                )
            )
            session.commit()
        written = _run(config, "gdpr", "register", "--out", str(tmp_path / "register"))
        assert written.returncode == 0, written.stderr
        [entry] = json.loads((tmp_path / "register" / "register.json").read_text())["activities"]
        assert entry["activity"] == "ministry/assistant"
        assert entry["legal_basis"] == "GDPR Art. 6(1)(e)"
        assert entry["recipients"] == ["helpdesk staff"]
        assert "expired conversations, vaults and subject links deleted every 300 s" in " ".join(
            entry["measures"]
        )
        # this configuration serves neither of the use case's models: the register says so
        assert entry["processing"][0] == {
            "model": "chat-fake",
            "backend": "not configured",
            "zone": "unknown",
        }
        markdown = (tmp_path / "register" / "register.md").read_text()
        assert "## ministry/assistant" in markdown
        assert "**Data subjects:** citizens" in markdown


@pytest.mark.parametrize("kind", KINDS)
def test_export_then_erase_from_the_command_line(tmp_path: Path, kind: str) -> None:
    data_dir = tmp_path / "data"
    with database_url(kind, tmp_path) as url, open_store(url, data_dir) as store:
        config = write_config(tmp_path / "souverain.toml", url, data_dir)
        keys = SubjectKeys(load_secret(PrivacySettings(), data_dir))
        subject = keys.subject_id(EntityType.LU_MATRICULE, MATRICULE)
        for i, who in enumerate([subject, None, subject]):
            store.append(Event(action="chat.completion", outcome="success", request_id=f"r{i}", subject=who))

        exported = _run(config, "gdpr", "export", "--subject", MATRICULE, "--out", str(tmp_path / "x.json"))
        assert exported.returncode == 0, exported.stderr
        document = json.loads((tmp_path / "x.json").read_text())
        assert [e["request_id"] for e in document["stores"]["audit_events"]] == ["r0", "r2"]
        assert (tmp_path / "x.json").stat().st_mode & 0o077 == 0  # personal data: owner only

        erased = _run(config, "gdpr", "erase", "--subject", subject, "--yes", "--json")
        assert erased.returncode == 0, erased.stderr
        assert json.loads(erased.stdout)["audit_events"] == 3  # two calls and the export
        verified = _run(config, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        with store.database.engine.connect() as c:
            left = c.execute(select(EVENTS.c.seq).where(EVENTS.c.subject.is_not(None))).all()
        assert left == []
        unknown = _run(config, "gdpr", "erase", "--subject", "someone", "--yes")
        assert unknown.returncode == 1
        assert "not recognised" in unknown.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_the_command_line_reaches_the_assistants_conversations_too(tmp_path: Path, kind: str) -> None:
    data_dir = tmp_path / "data"
    with database_url(kind, tmp_path) as url, open_store(url, data_dir) as store:
        config = write_config(tmp_path / "souverain.toml", url, data_dir)
        secret = load_secret(PrivacySettings(), data_dir)
        subject = SubjectKeys(secret).subject_id(EntityType.LU_MATRICULE, MATRICULE)
        owner = provision(store.database.sessions, tenant="ministry", use_case="assistant")
        assert owner.use_case_id is not None
        links = SubjectLinks(store.database.sessions, VaultCipher(secret), 3600)
        links.link(vault_scope(owner.tenant_id, owner.use_case_id), "c-cli", [subject], keep_days=30)
        conversations = ConversationStore(store.database.sessions, sealer=TextSealer(secret))
        held = conversations.open(Owner("ministry", "assistant", 30), "c-cli", "fr")
        question = f"Mon matricule est {MATRICULE}, où en est mon dossier ?"
        conversations.add_exchange(held, question, "fr", Answer("Voyez la page [1].", [], True))

        exported = _run(config, "gdpr", "export", "--subject", MATRICULE, "--out", str(tmp_path / "x.json"))
        assert exported.returncode == 0, exported.stderr
        [found] = json.loads((tmp_path / "x.json").read_text())["stores"]["conversations"]
        assert found["conversation_id"] == "c-cli"
        assert [m["content"] for m in found["messages"]] == [question, "Voyez la page [1]."]

        erased = _run(config, "gdpr", "erase", "--subject", MATRICULE, "--yes", "--json")
        assert erased.returncode == 0, erased.stderr
        assert conversations.export_conversation("ministry", "c-cli") is None
