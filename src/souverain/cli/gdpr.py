"""``souverain gdpr``: answer a subject access or erasure request, generate the register of processing.

``export`` and ``erase`` are recorded in the audit trail. An export holds personal data: written to a file,
the file is readable by its owner only. Refusals (an unknown subject, an incomplete register) exit 1;
configuration and database failures exit 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from souverain.assistant.conversations import ConversationStore
from souverain.cli.audit import open_store, operator
from souverain.cli.common import load_settings
from souverain.cli.governance import open_registry, run, say
from souverain.errors import SouverainError
from souverain.gdpr import register as records
from souverain.gdpr.redaction import Redactor
from souverain.gdpr.rights import SubjectRights
from souverain.gdpr.sources import conversation_source, standard_sources
from souverain.privacy.detector import Detector
from souverain.privacy.stores import open_privacy_stores

app = typer.Typer(help="GDPR: subject access, erasure, register of processing.", no_args_is_help=True)
SubjectOpt = Annotated[
    str,
    typer.Option("--subject", help="Subject identifier (subj_...), matricule, e-mail or other identifier."),
]


@contextmanager
def open_rights() -> Iterator[SubjectRights]:
    """The rights service over the configured stores; refusals exit 1."""
    settings = load_settings()
    with open_store(settings) as store:
        privacy = open_privacy_stores(settings, store.database)
        conversations = ConversationStore(store.database.sessions, sealer=privacy.texts)
        detector = Detector()
        redactor = Redactor(detector, privacy.subjects)
        sources = [
            *standard_sources(privacy, store.database.sessions),
            # as the server's requests reach them
            conversation_source(conversations, store.database, redactor),
        ]
        try:
            yield SubjectRights(store, privacy.subjects, privacy.links, detector, sources)
        except SouverainError as exc:
            say(f"error: {exc.message}")
            raise typer.Exit(1) from None


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@app.command()
def export(
    subject: SubjectOpt,
    out: Annotated[Path | None, typer.Option("--out", help="Write the export here (mode 0600).")] = None,
) -> None:
    """Gather everything held about a person: audit events, conversations, vault entries, usage."""
    with open_rights() as rights:
        document = rights.export(subject, operator())
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        print(text, end="")
        return
    _write_private(out, text)
    counts = ", ".join(f"{name} {count}" for name, count in document["counts"].items())
    say(f"export written to {out} ({counts}); recorded as audit event {document['export_event']}")


@app.command()
def erase(
    subject: SubjectOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Remove a person from every store and clear them from the audit trail; record the erasure."""
    if not yes and not typer.confirm("Erase everything held about this subject? This cannot be undone."):
        raise typer.Exit(1)
    with open_rights() as rights:
        erasure = rights.erase(subject, operator())
    if as_json:
        print(json.dumps(erasure.__dict__, indent=2))
        return
    removed = ", ".join(f"{name} {count}" for name, count in erasure.removed.items())
    print(f"erased: {removed}; {erasure.audit_events} audit events cleared; recorded as event {erasure.seq}")


def _register() -> records.Register:
    settings = load_settings()
    with open_registry(settings) as registry:
        tenants, use_cases = run(registry.list_tenants()), run(registry.list_use_cases())
    try:
        return records.build(tenants, use_cases, settings)
    except records.RegisterIncomplete as exc:
        say("error: the register is incomplete; fill these fields of each use case:")
        for name, fields in exc.missing.items():
            say(f"  {name}: {', '.join(fields)}")
        raise typer.Exit(1) from None


@app.command("register")
def register_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write register.md and register.json in this folder.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of Markdown.")] = False,
) -> None:
    """Generate the register of processing activities (GDPR Art. 30) from the use-case registry."""
    built = _register()
    document: dict[str, Any] = built.as_json()
    if out is None:
        print(
            json.dumps(document, ensure_ascii=False, indent=2) if as_json else records.markdown(built), end=""
        )
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "register.md").write_text(records.markdown(built), encoding="utf-8")
    (out / "register.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    say(f"register of {len(built.activities)} activities written to {out}/register.md and register.json")
