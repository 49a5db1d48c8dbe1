"""Which files of a folder get parsed: recursively, in sorted order, hidden files and folders skipped.

Symbolic links are reported and not followed: a link can lead outside the folder given (a file of the
server's own, into a public collection), back into it (a loop) or nowhere."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

SkipCallback = Callable[[Path, str], None]


def suffix_of(path: Path) -> str:
    """The suffix that chooses a parser, lower-cased; ``.jsonl.gz`` counts as one."""
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def walk_files(root: Path, suffixes: frozenset[str], on_skip: SkipCallback | None) -> Iterator[Path]:
    """Files under ``root`` with a known suffix, in path order (a folder's files where its name sorts);
    each other visible file is reported as skipped."""
    for entry in sorted(os.scandir(root), key=lambda entry: entry.name):
        path = Path(entry.path)
        if _hidden(entry.name):
            logger.debug("hidden entry skipped: %s", path)
        elif entry.is_symlink():
            report_skip(path, "symbolic link not followed", on_skip)
        elif entry.is_dir():
            yield from walk_files(path, suffixes, on_skip)
        elif suffix_of(path) in suffixes:
            yield path
        else:
            report_skip(path, f"unsupported file type {suffix_of(path) or '(none)'!r}", on_skip)


def report_skip(path: Path, reason: str, on_skip: SkipCallback | None) -> None:
    """Tell the caller (or the log, when no callback is given) that a file was not ingested."""
    if on_skip is not None:
        on_skip(path, reason)
    else:
        logger.warning("skipped %s: %s", path, reason)


def _hidden(name: str) -> bool:
    """Dot files, and the ``~$`` lock files office suites leave next to open documents."""
    return name.startswith((".", "~$"))
