"""Build the German → French glossary shipped in ``src/souverain/knowledge/glossaries/de-fr.tsv.gz``.

Source: Debian's ``dict-freedict-deu-fra`` package (FreeDict + WikDict German-French dictionary, built from
Wiktionary through DBnary; CC BY-SA 3.0), pinned by version and sha256. Only nouns and proper nouns are
kept (German writes them with a capital, which is how a question's nouns are found at query time), with the
alternatives of their first sense, at most ``MAX_TERMS``. Regenerate with:

    apt-get download dict-freedict-deu-fra=2022.12.07-2
    python3 tools/build_glossary.py dict-freedict-deu-fra_2022.12.07-2_all.deb

The output is deterministic (sorted, gzip without a timestamp).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import sys
import tarfile
from pathlib import Path

PACKAGE_SHA256 = "daea8e0b231a5c8c2aed6e59939943fb620fedb03b0e70f1f2874281005b981f"
DICTIONARY = "./usr/share/dictd/freedict-deu-fra"
OUTPUT = Path(__file__).resolve().parent.parent / "src/souverain/knowledge/glossaries/de-fr.tsv.gz"
MAX_TERMS = 2
# dictd's index encodes offsets and lengths in base 64 with its own alphabet
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOUN = re.compile(r"<(n|pn|abbreviation)\b[^>]*>")
_NUMBERING = re.compile(r"^\s*\d+\.\s*|\s+\d+\.\s*$")  # "1. carte 2." (sense numbers)


def _number(code: str) -> int:
    value = 0
    for char in code:
        value = value * 64 + _B64.index(char)
    return value


def _data_member(deb: bytes) -> bytes:
    """The ``data.tar.*`` member of a .deb (an ar archive: 8-byte magic, then 60-byte member headers)."""
    if not deb.startswith(b"!<arch>\n"):
        sys.exit("not a Debian package")
    position = 8
    while position + 60 <= len(deb):
        header = deb[position : position + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode())
        start = position + 60
        if name.startswith("data.tar"):
            return deb[start : start + size]
        position = start + size + size % 2  # members are aligned on even offsets
    sys.exit("no data.tar member in the package")


def _package_files(deb: Path) -> dict[str, bytes]:
    """The dictionary's index and data from the .deb, after checking its sha256."""
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    if digest != PACKAGE_SHA256:
        sys.exit(f"{deb}: sha256 {digest}, expected {PACKAGE_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(_data_member(deb.read_bytes()))) as archive:
        wanted = {f"{DICTIONARY}.index": "index", f"{DICTIONARY}.dict.dz": "dict"}
        files = {}
        for member in archive.getmembers():
            if member.name in wanted:
                extracted = archive.extractfile(member)
                assert extracted is not None
                files[wanted[member.name]] = extracted.read()
    return files


def entries(index: str, data: bytes) -> dict[str, list[str]]:
    """Each noun headword (lower case) with the French alternatives of its first sense."""
    glossary: dict[str, list[str]] = {}
    for line in index.splitlines():
        headword, offset, length = line.split("\t")
        start = _number(offset)
        lines = data[start : start + _number(length)].decode("utf-8").split("\n")
        if len(lines) < 2 or not _NOUN.search(lines[0]) or headword.startswith("00"):
            continue
        terms = [_NUMBERING.sub("", term).strip() for term in lines[1].split(",")]
        kept = glossary.setdefault(headword.lower(), [])
        kept.extend(term for term in terms if term and term not in kept)
    return {word: terms[:MAX_TERMS] for word, terms in glossary.items() if terms}


def main() -> None:
    """Write the glossary as ``word<TAB>term|term`` lines."""
    files = _package_files(Path(sys.argv[1]))
    glossary = entries(files["index"].decode("utf-8"), gzip.decompress(files["dict"]))
    lines = "".join(f"{word}\t{'|'.join(terms)}\n" for word, terms in sorted(glossary.items()))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(gzip.compress(lines.encode("utf-8"), mtime=0))
    print(f"{OUTPUT}: {len(glossary)} words")


if __name__ == "__main__":
    main()
