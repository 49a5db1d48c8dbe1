"""Verification beyond the basic tampering kinds (in-process, SQLite: the logic is the same on both
databases), and inclusion proofs printed by ``souverain audit prove`` checked by a copy of the
independent verifier that cannot see souverain."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from souverain.audit import proofs, verify_proof
from souverain.audit.checkpoints import Checkpointer, stored_checkpoints
from souverain.audit.models import CHECKPOINTS, EVENTS
from souverain.audit.store import AuditStore, seal
from souverain.audit.verify import Finding, verify
from souverain.settings import AuditSettings
from tests.audit_support import delete_row, fill, open_store, souverain, write_config

HASH_COLUMNS = ("seq", "created_at", "leaf_hash", "prev_hash", "entry_hash")


def trail(tmp_path: Path) -> Any:
    """A store over a fresh SQLite file (a context manager)."""
    return open_store(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "data")


def build(store: AuditStore) -> None:
    """25 events, checkpoints at 10 and 20."""
    checkpointer = Checkpointer(store, AuditSettings())
    fill(store, 1, 10)
    checkpointer.checkpoint()
    fill(store, 11, 20)
    checkpointer.checkpoint()
    fill(store, 21, 25)


def finding(store: AuditStore) -> Finding | None:
    return verify(store, stored_checkpoints(store)).finding


def rewrite_from(store: AuditStore, first: int) -> None:
    """Change event ``first`` and rehash it and every later event, keeping their times: a chain that links."""
    with store.database.engine.begin() as connection:
        prev = connection.execute(select(EVENTS.c.entry_hash).where(EVENTS.c.seq == first - 1)).scalar_one()
        rows = connection.execute(select(EVENTS).where(EVENTS.c.seq >= first).order_by(EVENTS.c.seq)).all()
        for row in rows:
            values = {k: v for k, v in row._mapping.items() if k not in HASH_COLUMNS}
            if row.seq == first:
                values["outcome"] = "error"
            sealed = seal(values, row.seq, prev, row.created_at)
            connection.execute(update(EVENTS).where(EVENTS.c.seq == row.seq).values(sealed))
            prev = sealed["entry_hash"]


def test_personal_values_are_checked_against_their_digests(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        with store.database.engine.begin() as connection:
            connection.execute(update(EVENTS).where(EVENTS.c.seq == 4).values(actor="souv_someone_else"))
        assert finding(store) == Finding(
            "edited", 4, "event 4 was edited: its actor does not match the digest the chain commits to"
        )


def test_a_personal_value_cleared_without_a_purge_record_is_an_edit(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        with store.database.engine.begin() as connection:
            connection.execute(update(EVENTS).where(EVENTS.c.seq == 9).values(actor=None))
        found = finding(store)
        assert found is not None
        assert (found.kind, found.seq) == ("edited", 9)
        assert "without a purge or erasure record" in found.message


def test_a_rewritten_suffix_is_caught_by_the_checkpoint_that_covers_it(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        rewrite_from(store, 12)
        found = finding(store)
        assert found is not None
        # the chain links; only the checkpoint of 20 events disagrees, and the one of 10 still holds
        assert (found.kind, found.seq) == ("edited", 11)
        assert "events 11..20 do not match the root of the checkpoint of 20 events" in found.message


def test_a_deleted_event_hidden_by_renumbering_is_still_a_deletion(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        delete_row(store, 7)
        with store.database.engine.begin() as connection:
            connection.execute(update(EVENTS).where(EVENTS.c.seq > 7).values(seq=EVENTS.c.seq - 1))
        found = finding(store)
        assert found is not None
        assert (found.kind, found.seq) == ("deleted", 7)


def test_cutting_the_tail_is_a_truncation_only_checkpoints_reveal(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        assert finding(store) is None
        with store.database.engine.begin() as connection:
            connection.execute(EVENTS.delete().where(EVENTS.c.seq > 18))
        assert finding(store) == Finding(
            "truncated", 19, f"the trail ends at event 18 but {_where(store, 20)} covers 20 events"
        )


def _where(store: AuditStore, size: int) -> str:
    [checkpoint] = [c for c in stored_checkpoints(store) if c.tree_size == size]
    return f"the checkpoint of {size} events signed at {checkpoint.time} (database)"


def test_an_altered_checkpoint_is_reported_as_such(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        with store.database.engine.begin() as connection:
            connection.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == 10).values(tree_size=9))
        found = finding(store)
        assert found is not None
        assert (found.kind, found.seq) == ("checkpoint", 9)


def test_a_consistency_proof_links_two_checkpoints(tmp_path: Path) -> None:
    with trail(tmp_path) as store:
        build(store)
        Checkpointer(store, AuditSettings()).checkpoint()
        document = proofs.consistency_document(store, 10)
        old, new = document["old"], document["new"]
        for checkpoint in (old, new):
            verify_proof.verify_checkpoint(checkpoint, document["public_key"])
        proof = [bytes.fromhex(h) for h in document["proof"]]
        roots = bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"])
        assert verify_proof.verify_consistency(10, 25, *roots, proof)
        assert not verify_proof.verify_consistency(10, 25, roots[1], roots[0], proof)


def run_copied_verifier(
    tmp_path: Path, document: dict[str, Any], public_key: Path
) -> subprocess.CompletedProcess[str]:
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(document))
    return subprocess.run(
        [
            sys.executable,
            "-I",
            str(tmp_path / "third-party" / "verify_proof.py"),
            str(proof),
            "--public-key",
            str(public_key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path / "third-party",
    )


def test_prove_prints_a_proof_a_third_party_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with open_store(url, tmp_path / "data") as store:
        build(store)
        Checkpointer(store, AuditSettings()).checkpoint()
        public_key = tmp_path / "audit.pem"
        public_key.write_text(store.keys.public_key_pem())
    config = write_config(tmp_path / "souverain.toml", url, tmp_path / "data")
    stdout, stderr = souverain(config, "audit", "prove", "13").communicate(timeout=120)
    document = json.loads(stdout)
    assert (document["seq"], document["leaf_index"], document["tree_size"]) == (13, 12, 25), stderr
    assert json.loads(document["leaf"])["request_id"] == "req-0013"
    # the verifier, copied out of the repository and run in isolated mode: it cannot import souverain
    (tmp_path / "third-party").mkdir()
    shutil.copy(verify_proof.__file__, tmp_path / "third-party" / "verify_proof.py")
    valid = run_copied_verifier(tmp_path, document, public_key)
    assert valid.returncode == 0, valid.stderr
    assert "valid: event at index 12 is in the tree of 25 leaves" in valid.stdout

    assert_tampered_proofs_fail(tmp_path, document, public_key)
    other_key = tmp_path / "other.pem"
    with open_store(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "other-data") as other:
        other_key.write_text(other.keys.public_key_pem())
    result = run_copied_verifier(tmp_path, document, other_key)
    assert result.returncode == 1
    assert "another public key than the trusted one" in result.stderr


def assert_tampered_proofs_fail(tmp_path: Path, document: dict[str, Any], public_key: Path) -> None:
    """An edited leaf, a leaf claimed at another index, a checkpoint with another root: all refused."""
    edited = {
        **document,
        "leaf": document["leaf"].replace('"outcome":"success"', '"outcome":"error"'),
    }
    edited["leaf_hash"] = verify_proof.leaf_hash(edited["leaf"].encode()).hex()
    assert edited["leaf"] != document["leaf"]
    moved = {**document, "leaf_index": 11}
    resigned = {**document, "checkpoint": {**document["checkpoint"], "root_hash": "00" * 32}}
    for tampered, reason in [
        (edited, "does not lead to the checkpoint's root"),
        (moved, "does not lead to the checkpoint's root"),
        (resigned, "signature is not valid"),
    ]:
        result = run_copied_verifier(tmp_path, tampered, public_key)
        assert result.returncode == 1
        assert reason in result.stderr


def test_an_unreadable_or_malformed_proof_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        "empty.json": ("", 1, "INVALID: Expecting value"),
        "list.json": ("[1, 2]", 1, "INVALID: the proof is not a JSON object"),
        "partial.json": (json.dumps({"format": verify_proof.PROOF_FORMAT}), 1, "no 'checkpoint' field"),
    }
    for name, (text, status, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert verify_proof.main([str(tmp_path / name)]) == status
        assert message in capsys.readouterr().err
    assert verify_proof.main([str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
