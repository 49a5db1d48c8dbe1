"""Each kind of tampering with a real trail, in a SQLite file and in PostgreSQL, is named by
``souverain audit verify`` run as a subprocess: the kind and the first inconsistent event.

Per database kind, six trails are built (one untouched, one per tampering); the six verifications run
as concurrent subprocesses, because each command start costs seconds on the 2-core test machine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from souverain.audit.checkpoints import Checkpointer
from souverain.audit.exports import FileExporter
from souverain.audit.store import AuditStore
from souverain.settings import AuditSettings
from tests.audit_support import (
    delete_row,
    edit_field,
    fill,
    insert_row,
    open_store,
    souverain,
    swap_rows,
    truncate,
    write_config,
)
from tests.databases import postgres_available, postgres_database

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def truncate_and_reappend(store: AuditStore) -> None:
    truncate(store, 15)
    fill(store, 16, 25)  # the same number of events again: the chain links, only checkpoints disagree


Tamper = Callable[[AuditStore], None] | None
CASES: dict[str, tuple[Tamper, str | None, int | None]] = {
    "untouched": (None, None, None),
    "edit a field": (lambda s: edit_field(s, 7), "edited", 7),
    "delete a row": (lambda s: delete_row(s, 7), "deleted", 7),
    "insert a row": (lambda s: insert_row(s, 7), "inserted", 7),
    "swap two rows": (lambda s: swap_rows(s, 7), "reordered", 7),
    "truncate and re-append": (truncate_and_reappend, "truncated", 16),
}


@contextmanager
def database_urls(kind: str, tmp_path: Path, count: int) -> Iterator[list[str]]:
    if kind == "sqlite":
        yield [f"sqlite:///{tmp_path / f'trail{i}.db'}" for i in range(count)]
        return
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (the test environment provides it)")
    with ExitStack() as stack:
        yield [stack.enter_context(postgres_database()) for _ in range(count)]


def build_trail(url: str, data_dir: Path, exported: Path, tamper: Tamper) -> None:
    """25 events, checkpoints at 10 and 20 copied to ``exported``, then the tampering."""
    with open_store(url, data_dir) as store:
        checkpointer = Checkpointer(store, AuditSettings(), [FileExporter(exported)])
        fill(store, 1, 10)
        checkpointer.checkpoint()
        fill(store, 11, 20)
        checkpointer.checkpoint()
        fill(store, 21, 25)
        if tamper is not None:
            tamper(store)


@pytest.mark.timeout(300)  # six command starts at once on two cores
@pytest.mark.parametrize("kind", KINDS)
def test_each_tampering_is_named_by_audit_verify(kind: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with database_urls(kind, tmp_path, len(CASES)) as urls:
        runs = {}
        for index, (url, (name, (tamper, _, _))) in enumerate(zip(urls, CASES.items(), strict=True)):
            exported = tmp_path / f"checkpoints{index}.jsonl"
            build_trail(url, data_dir, exported, tamper)
            config = write_config(tmp_path / f"souverain{index}.toml", url, data_dir)
            runs[name] = souverain(config, "audit", "verify", "--json", "--checkpoints", str(exported))
        outputs = {name: (run.communicate(timeout=240), run.returncode) for name, run in runs.items()}
    for name, ((stdout, stderr), code) in outputs.items():
        _, kind_expected, seq_expected = CASES[name]
        assert stdout, f"{name}: no output; stderr: {stderr}"
        result = json.loads(stdout)
        if kind_expected is None:
            assert code == 0, f"{name}: {result}"
            assert result["intact"] is True
            assert (result["events"], result["checkpoints"]) == (25, 4)
            continue
        assert code == 1, f"{name}: exit {code}: {result} {stderr}"
        assert (result["kind"], result["seq"]) == (kind_expected, seq_expected), f"{name}: {result}"
        assert result["intact"] is False
