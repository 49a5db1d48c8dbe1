"""``souverain audit``: verify the trail, prove an event's inclusion, write checkpoints, apply retention.

``verify`` exits 0 when the trail is intact and 1 naming the first inconsistent event otherwise; every
other failure (configuration, database) exits 2. Proofs and ``--json`` results go to standard output.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from souverain.audit import proofs, retention
from souverain.audit.checkpoints import Checkpoint, Checkpointer, stored_checkpoints
from souverain.audit.exports import FileExporter, configured_exporters
from souverain.audit.keys import load_keys
from souverain.audit.store import AuditStore
from souverain.audit.verify import verify as verify_trail
from souverain.cli.common import load_settings
from souverain.cli.governance import open_database, say
from souverain.errors import SouverainError
from souverain.settings import Settings

app = typer.Typer(help="Tamper-evident audit trail: verify, prove, checkpoint, purge.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@contextmanager
def open_store(settings: Settings) -> Iterator[AuditStore]:
    """The audit store over the configured database; failures are explained and exit 2."""
    try:
        with open_database(settings) as database:
            keys = load_keys(settings.audit, settings.data_dir)
            store = AuditStore(database, keys, sqlite_full_sync=settings.audit.sqlite_full_sync)
            try:
                yield store
            finally:
                store.close()
    except SouverainError as exc:
        say(f"error: {exc.message}")
        raise typer.Exit(2) from None


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _checkpoints(store: AuditStore, settings: Settings, files: list[Path]) -> list[Checkpoint]:
    found = stored_checkpoints(store)
    exporters = [*configured_exporters(settings.audit), *(FileExporter(path) for path in files)]
    for exporter in exporters:
        try:
            found += exporter.read()
        finally:
            exporter.close()
    return found


@app.command()
def verify(
    checkpoints: Annotated[
        list[Path] | None, typer.Option(help="An exported checkpoint file (JSON lines); repeatable.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Recompute every hash, the chain, the tree roots and signatures; exit 1 naming the first problem."""
    settings = load_settings()
    with open_store(settings) as store:
        report = verify_trail(store, _checkpoints(store, settings, checkpoints or []))
    finding = report.finding
    if as_json:
        _print_json(
            {
                "intact": report.intact,
                "events": report.events,
                "checkpoints": report.checkpoints,
                "sources": report.sources,
                "head": report.head,
                **({"kind": finding.kind, "seq": finding.seq, "message": finding.message} if finding else {}),
            }
        )
    elif finding is None:
        print(
            f"intact: {report.events} events, {report.checkpoints} checkpoints verified, head {report.head}"
        )
    else:
        print(f"NOT INTACT: {finding.kind} event {finding.seq}: {finding.message}")
    if finding is not None:
        raise typer.Exit(1)


@app.command()
def prove(seq: Annotated[int, typer.Argument(help="Sequence number of the event.", min=1)]) -> None:
    """Print the inclusion proof of one event against the latest checkpoint covering it (JSON)."""
    with open_store(load_settings()) as store:
        _print_json(proofs.inclusion_document(store, seq))


@app.command()
def consistency(
    old_size: Annotated[int, typer.Argument(help="Tree size of an earlier checkpoint.", min=1)],
) -> None:
    """Print the proof that the latest checkpoint's tree extends an earlier checkpoint's (JSON)."""
    with open_store(load_settings()) as store:
        _print_json(proofs.consistency_document(store, old_size))


@app.command()
def checkpoint(as_json: AsJson = False) -> None:
    """Sign a checkpoint of the trail now, and copy it to the configured independent stores."""
    settings = load_settings()
    with open_store(settings) as store:
        exporters = configured_exporters(settings.audit)
        try:
            written = Checkpointer(store, settings.audit, exporters).checkpoint()
        finally:
            for exporter in exporters:
                exporter.close()
    if as_json:
        _print_json(written.as_json())
    else:
        print(f"checkpoint: {written.tree_size} events, root {written.root_hash}, signed {written.time}")


@app.command("public-key")
def public_key() -> None:
    """Print the public key that checks checkpoint signatures (PEM), to hand to auditors."""
    with open_store(load_settings()) as store:
        print(store.keys.public_key_pem(), end="")


@app.command()
def purge(as_json: AsJson = False) -> None:
    """Remove personal fields and stored content past each use case's retention; record the purge."""
    settings = load_settings()
    with open_store(settings) as store:
        report = retention.purge(store, settings.audit, actor=operator())
    if as_json:
        _print_json(report.__dict__)
    else:
        print(
            f"purged: {report.events} events in {len(report.ranges)} ranges, recorded as event {report.seq}"
        )


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli:unknown"
