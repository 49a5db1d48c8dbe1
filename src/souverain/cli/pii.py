"""``souverain pii scan``: personal-data detection over JSON lines, without loading any chat model.

Reads ``{"id": "...", "text": "...", "language": "fr"}`` lines (language optional) on standard input and
writes one ``{"id": "...", "entities": [...]}`` line per input, flushed at once so that it can sit in a
pipe. A line that is not valid JSON, or not an object with a string ``text``, is skipped with a message on
standard error naming its line number (never its content). A line whose detection fails gets
``{"id": "...", "error": "..."}`` and the command exits 1 at the end.
"""

from __future__ import annotations

import sys
from typing import IO, Annotated

import orjson
import typer

from souverain.errors import DetectionError
from souverain.privacy.detector import Detector

app = typer.Typer(help="Detect personal data in text.", no_args_is_help=True)


def _parse(line: str, number: int) -> tuple[object, str, str | None] | None:
    """The id, text and language of one input line, or None (with a message on stderr) when invalid."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        print(f"line {number}: not valid JSON, skipped", file=sys.stderr)
        return None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        print(f'line {number}: expected an object with a string "text", skipped', file=sys.stderr)
        return None
    language = record.get("language")
    return record.get("id"), record["text"], language if isinstance(language, str) else None


def scan_lines(lines: IO[str], out: IO[bytes], detector: Detector, language: str | None) -> int:
    """Scan every line of ``lines`` into ``out``; returns the number of lines whose detection failed."""
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse(line, number)
        if parsed is None:
            continue
        record_id, text, record_language = parsed
        try:
            entities = detector.analyze(text, record_language or language)
            result: dict[str, object] = {"id": record_id, "entities": [e.to_dict() for e in entities]}
        except DetectionError as exc:
            failures += 1
            print(f"line {number}: {exc.message}", file=sys.stderr)
            result = {"id": record_id, "error": exc.message}
        out.write(orjson.dumps(result) + b"\n")
        out.flush()
    return failures


@app.command("scan")
def scan(
    language: Annotated[
        str | None, typer.Option(help="Language hint (fr, de, en, lb) for lines that do not give one.")
    ] = None,
    deadline_ms: Annotated[
        float | None, typer.Option(help="Time budget per line in milliseconds; a line over it fails.")
    ] = None,
) -> None:
    """Read JSON lines {"id", "text"} on stdin, write {"id", "entities"} lines on stdout."""
    detector = Detector(deadline_s=deadline_ms / 1000 if deadline_ms is not None else None)
    failures = scan_lines(sys.stdin, sys.stdout.buffer, detector, language)
    if failures:
        raise typer.Exit(1)
