"""What the audit tests share: a store over a real database, sample events, a configuration file for
the CLI subprocess, and the tampering an attacker with write access to the database could do."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update

from souverain.audit.keys import load_keys
from souverain.audit.models import CHECKPOINTS, EVENTS
from souverain.audit.store import AuditStore, append_records, seal
from souverain.events import Event
from souverain.settings import AuditSettings
from souverain.storage.database import Database


@contextmanager
def open_store(url: str, data_dir: Path, settings: AuditSettings | None = None) -> Iterator[AuditStore]:
    """A store over a migrated database, with the keys of ``data_dir``."""
    database = Database(url)
    database.migrate()
    store = AuditStore(database, load_keys(settings or AuditSettings(), data_dir))
    try:
        yield store
    finally:
        store.close()
        database.close()


def sample_event(i: int, **changes: Any) -> Event:
    """A model call's event, different for each ``i``."""
    values: dict[str, Any] = {
        "action": "chat.completion",
        "outcome": "success" if i % 5 else "refused",
        "request_id": f"req-{i:04d}",
        "actor": f"souv_key{i % 3}",
        "tenant": "ministry",
        "use_case": "assistant",
        "purpose": "Answer questions about public services",
        "model": "chat-fake",
        "served_model": "qwen2.5-0.5b",
        "weights_sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "backend": "fake",
        "zone": "on_prem",
        "classification": "internal",
        "status": 200 if i % 5 else 403,
        "prompt_tokens": 10 + i,
        "completion_tokens": 3 * i,
        "entity_types": ("EMAIL", "LU_MATRICULE") if i % 2 else (),
        "details": {"duration_ms": 1.5 + i / 7, "route": {"priority": 0, "weight": 1.0}},
    }
    values.update(changes)
    return Event(**values)


def fill(store: AuditStore, first: int, last: int) -> None:
    """Append sample events ``first``..``last`` one by one."""
    for i in range(first, last + 1):
        store.append(sample_event(i))


def backdate(store: AuditStore, moment: datetime, events: list[Event], content: bytes | None = None) -> None:
    """Append ``events`` as if they had been written at ``moment``."""
    with store.writing() as connection:
        append_records(connection, [store.record(e, content) for e in events], moment)


def write_config(path: Path, url: str, data_dir: Path, export_file: Path | None = None) -> Path:
    """A TOML configuration naming the database, the data directory and the checkpoint export."""
    lines = [f'data_dir = "{data_dir}"', f'database_url = "{url}"']
    if export_file is not None:
        lines += ["", "[audit]", f'export_file = "{export_file}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def souverain(config: Path, *args: str) -> subprocess.Popen[str]:
    """Start ``souverain ARGS`` as a subprocess with SOUVERAIN_CONFIG pointing at ``config``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUVERAIN_")}
    env["SOUVERAIN_CONFIG"] = str(config)
    return subprocess.Popen(
        [sys.executable, "-c", "from souverain.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- tampering, as someone with write access to the database would do it ---------------------------


def edit_field(store: AuditStore, seq: int) -> None:
    with store.database.engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(outcome="error", status=500))


def delete_row(store: AuditStore, seq: int) -> None:
    with store.database.engine.begin() as connection:
        connection.execute(delete(EVENTS).where(EVENTS.c.seq == seq))


def _shift(connection: Any, first: int, by: int) -> None:
    """Move events ``first``.. by ``by`` positions, in two steps so that the key never collides."""
    connection.execute(update(EVENTS).where(EVENTS.c.seq >= first).values(seq=EVENTS.c.seq + 1_000_000))
    connection.execute(
        update(EVENTS).where(EVENTS.c.seq >= 1_000_000).values(seq=EVENTS.c.seq - 1_000_000 + by)
    )


def insert_row(store: AuditStore, seq: int) -> None:
    """A forged event at ``seq``, correctly hashed and chained to its predecessor; later ones move up."""
    with store.database.engine.begin() as connection:
        before = connection.execute(select(EVENTS).where(EVENTS.c.seq == seq - 1)).one()
        prev, moment = before.entry_hash, before.created_at
        _shift(connection, seq, 1)
        forged = store.record(sample_event(999, actor=None, outcome="success"))
        connection.execute(insert(EVENTS), seal(forged, seq, prev, moment))


def swap_rows(store: AuditStore, seq: int) -> None:
    """Exchange events ``seq`` and ``seq + 1``."""
    with store.database.engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(seq=-1))
        connection.execute(update(EVENTS).where(EVENTS.c.seq == seq + 1).values(seq=seq))
        connection.execute(update(EVENTS).where(EVENTS.c.seq == -1).values(seq=seq + 1))


def truncate(store: AuditStore, keep: int) -> None:
    """Remove every event after ``keep`` and the stored checkpoints that would show it."""
    with store.database.engine.begin() as connection:
        connection.execute(delete(EVENTS).where(EVENTS.c.seq > keep))
        connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.tree_size > keep))
