"""Parsers on real files: HTML, Markdown, text, PDF, DOCX, JSON lines (plain and gzipped), and folders."""

from __future__ import annotations

import gzip
import logging
import zipfile
from pathlib import Path

import docx
import orjson
import pytest

from souverain.errors import InvalidRequest
from souverain.knowledge.parsers import SUFFIXES, parse_markdown, parse_path
from souverain.knowledge.types import Block, BlockKind, SourceDocument

H, P, L, T = BlockKind.HEADING, BlockKind.PARAGRAPH, BlockKind.LIST, BlockKind.TABLE

PAGE = """<!doctype html>
<html lang="de-LU"><head><title>Personalausweis verloren</title><style>p { color: red }</style></head>
<body>
<nav><ul><li><a href="/">Startseite</a></li></ul></nav>
<h1>Ausweis im Ausland verloren</h1>
<p>Wenn Ihr <b>Personal</b>ausweis verloren geht,<br>melden Sie den Verlust.</p>
<div>Text ohne Absatz <a href="/x">mit Link</a></div>
<ul><li>Anzeige erstatten</li><li>Neuen Ausweis beantragen<ul><li>Foto mitbringen</li></ul></li></ul>
<ol start="3"><li><p>Gebühr zahlen</p></li><li>Abholen</li></ol>
<h2>Kosten</h2>
<table><thead><tr><th>Alter</th><th>Preis</th></tr></thead><tbody><tr><td>unter 24</td><td>22,80 €</td></tr>
<tr><td>ab 24</td><td>37 €</td></tr></tbody></table>
<script>document.write("nicht lesen")</script><!-- ein Kommentar -->
<footer><p>Impressum</p></footer>
</body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def only(path: Path) -> SourceDocument:
    (document,) = parse_path(path)
    return document


def test_html_keeps_structure_and_drops_page_furniture(tmp_path: Path) -> None:
    doc = only(write(tmp_path / "ausweis.html", PAGE))
    assert (doc.id, doc.title, doc.language) == ("ausweis.html", "Personalausweis verloren", "de")
    assert doc.blocks == [
        Block(H, "Ausweis im Ausland verloren", 1),
        Block(P, "Wenn Ihr Personalausweis verloren geht, melden Sie den Verlust."),
        Block(P, "Text ohne Absatz mit Link"),
        Block(L, "- Anzeige erstatten\n- Neuen Ausweis beantragen\n  - Foto mitbringen"),
        Block(L, "3. Gebühr zahlen\n4. Abholen"),
        Block(H, "Kosten", 2),
        Block(T, "Alter | Preis\nunter 24 | 22,80 €\nab 24 | 37 €"),
    ]
    assert doc.metadata == {"path": "ausweis.html"}


def test_html_title_falls_back_to_first_h1_and_reads_only_main(tmp_path: Path) -> None:
    page = "<body><header><p>Bandeau</p></header><main><h2>Avant</h2><h1>Titre</h1><p>Corps</p></main></body>"
    doc = only(write(tmp_path / "page.htm", page))
    assert doc.title == "Titre"
    assert [block.text for block in doc.blocks] == ["Avant", "Titre", "Corps"]
    assert doc.language == "fr"


@pytest.mark.parametrize(
    ("page", "table"),
    [
        (  # a table in a cell: read once, flattened into that cell
            "<table><tr><th>Cas</th><th>Détail</th></tr><tr><td>perte</td><td>avant <table><tr><td>a1</td>"
            "<td>b1</td></tr><tr><td>a2</td><td>b2</td></tr></table> après</td></tr>"
            "<tr><td>vol</td><td>plainte</td></tr></table>",
            "Cas | Détail\nperte | avant a1 b1 a2 b2 après\nvol | plainte",
        ),
        (  # two levels deep, in a header cell
            "<table><thead><tr><th>x <table><tr><td>profond <table><tr><td>plus profond</td></tr></table>"
            "</td></tr></table></th><th>y</th></tr></thead></table>",
            "x profond plus profond | y",
        ),
        (  # misplaced, outside any cell: its rows are read as the outer table's, once
            "<table><tr><td>a</td><table><tr><td>b</td></tr></table></tr></table>",
            "a\nb",
        ),
    ],
)
def test_html_nested_tables_are_read_once(tmp_path: Path, page: str, table: str) -> None:
    doc = only(write(tmp_path / "imbrique.html", page + "<p>Fin</p>"))
    assert doc.blocks == [Block(T, table), Block(P, "Fin")]


def test_markdown_file(tmp_path: Path) -> None:
    text = (
        "# Carte d'identité\n\nUn **texte** avec [un lien](https://example.org)\nsur deux lignes.\n\n"
        "## Pièces\n\n- Photo\n- Justificatif\n  - de moins de 3 mois\n\n"
        "| Âge | Durée |\n|---|---|\n| mineur | 10 ans |\n\n```\ncode\n```\n"
    )
    doc = only(write(tmp_path / "cni.md", text))
    assert doc.title == "Carte d'identité"
    assert doc.blocks == [
        Block(H, "Carte d'identité", 1),
        Block(P, "Un texte avec un lien\nsur deux lignes."),
        Block(H, "Pièces", 2),
        Block(L, "- Photo\n- Justificatif\n  - de moins de 3 mois"),
        Block(T, "Âge | Durée\nmineur | 10 ans"),
        Block(P, "code"),
    ]


def test_parse_markdown_numbers_ordered_lists_and_joins_item_paragraphs() -> None:
    blocks = parse_markdown("2. premier\n\n   suite\n3. second\n")
    assert blocks == [Block(L, "2. premier suite\n3. second")]


def test_text_file_paragraphs_and_title_from_name(tmp_path: Path) -> None:
    doc = only(write(tmp_path / "aide_sociale-2024.txt", "Ligne un\nligne deux\n\n\n  Second  paragraphe \n"))
    assert doc.title == "aide sociale 2024"
    assert doc.blocks == [Block(P, "Ligne un\nligne deux"), Block(P, "Second paragraphe")]


def test_text_file_in_windows_1252_is_read(tmp_path: Path) -> None:
    doc = only(write(tmp_path / "vieux.txt", "Déclaration de perte".encode("cp1252")))
    assert doc.blocks == [Block(P, "Déclaration de perte")]


def _pdf_string(text: str) -> bytes:
    return text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A real PDF: one Helvetica text object per page, one line per string ('' leaves a gap)."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", font]
    kids = []
    for lines in pages:
        shown = b" ".join(b"(" + _pdf_string(line) + b") Tj T*" for line in lines)
        ops = b"BT /F1 12 Tf 14 TL 72 720 Td " + shown + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream")
        resources = b"/Resources << /Font << /F1 3 0 R >> >>"
        page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] %s /Contents %d 0 R >>"
        objects.append(page % (resources, len(objects)))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    if title:
        objects.append(b"<< /Title (" + _pdf_string(title) + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


def test_pdf_paragraphs_per_page(tmp_path: Path) -> None:
    page_one = [
        "Carte d'identité perdue",
        "",
        "Faites une déclaration de perte (ou de vol) à la mai-",
        "rie.",
        "",
    ]
    pdf = make_pdf([[*page_one, "Délai : deux semaines."], ["Page deux."]])
    doc = only(write(tmp_path / "guides" / "cni.pdf", pdf))
    assert doc.title == "Carte d'identité perdue"
    assert doc.blocks == [
        Block(P, "Carte d'identité perdue"),
        Block(P, "Faites une déclaration de perte (ou de vol) à la mairie."),
        Block(P, "Délai : deux semaines."),
        Block(P, "Page deux."),
    ]


def test_pdf_title_from_metadata(tmp_path: Path) -> None:
    doc = only(write(tmp_path / "a.pdf", make_pdf([["Premier paragraphe."]], title="Guide du passeport")))
    assert doc.title == "Guide du passeport"


def test_broken_pdf_is_an_invalid_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"broken\.pdf"):
        only(write(tmp_path / "broken.pdf", b"%PDF-1.4\nnot really a pdf"))


def test_docx_headings_lists_tables_in_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.language = "fr-FR"
    document.add_paragraph("Demande de passeport", style="Title")
    document.add_heading("Pièces à fournir", level=1)
    document.add_paragraph("Il faut apporter :")
    document.add_paragraph("une photo", style="List Bullet")
    document.add_paragraph("un justificatif de domicile", style="List Bullet")
    document.add_paragraph("de moins d'un an", style="List Bullet 2")
    document.add_heading("Tarifs", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Âge", "Prix"), ("mineur", "17 €"), ("majeur", "86 €")], strict=True):
        row.cells[0].text, row.cells[1].text = cells
    merged = document.add_table(rows=2, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Fusionné"
    merged.cell(1, 0).text, merged.cell(1, 1).text = "a", "b"
    document.add_paragraph("Fin.")
    document.save(str(tmp_path / "passeport.docx"))

    doc = only(tmp_path / "passeport.docx")
    assert (doc.title, doc.language) == ("Demande de passeport", "fr")
    assert doc.blocks == [
        Block(H, "Pièces à fournir", 1),
        Block(P, "Il faut apporter :"),
        Block(L, "- une photo\n- un justificatif de domicile\n  - de moins d'un an"),
        Block(H, "Tarifs", 2),
        Block(T, "Âge | Prix\nmineur | 17 €\nmajeur | 86 €"),
        Block(T, "Fusionné\na | b"),
        Block(P, "Fin."),
    ]


def test_docx_title_from_properties(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Titre déclaré"
    document.add_heading("Autre", level=1)
    document.save(str(tmp_path / "t.docx"))
    assert only(tmp_path / "t.docx").title == "Titre déclaré"


def docx_with_body(path: Path, body: bytes) -> Path:
    """A real DOCX (python-docx's template) whose body holds ``body``, written as given."""
    template = path.with_suffix(".template.docx")
    docx.Document().save(str(template))
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                start, end = data.index(b"<w:body>") + len(b"<w:body>"), data.index(b"<w:sectPr")
                data = data[:start] + body + data[end:]
            target.writestr(item.filename, data)
    template.unlink()
    return path


def test_a_long_docx_within_the_limits_is_read_whole(tmp_path: Path) -> None:
    heading = b'<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Chapitre %d</w:t></w:r></w:p>'
    unknown = b'<w:p><w:pPr><w:pStyle w:val="Inconnu"/></w:pPr><w:r><w:t>Style inconnu</w:t></w:r></w:p>'
    paragraph = b"<w:p><w:r><w:t>Paragraphe %d.</w:t></w:r></w:p><w:p/>"
    cell = b"<w:tc><w:p><w:r><w:t>%d</w:t></w:r></w:p></w:tc>"
    table = b"<w:tbl><w:tr>" + b"".join(cell % i for i in range(5)) + b"</w:tr></w:tbl>"
    chapters = [heading % c + b"".join(paragraph % i for i in range(100)) + table for c in range(150)]
    path = docx_with_body(tmp_path / "rapport.docx", b"".join(chapters) + unknown)
    doc = only(path)  # 15,000 paragraphs, as many empty ones, 150 tables between them: a 300-page report
    assert len(doc.blocks) == 150 * 102 + 1
    assert doc.blocks[:3] == [Block(H, "Chapitre 0", 2), Block(P, "Paragraphe 0."), Block(P, "Paragraphe 1.")]
    assert doc.blocks[-3:] == [
        Block(P, "Paragraphe 99."),
        Block(T, "0 | 1 | 2 | 3 | 4"),
        Block(P, "Style inconnu"),
    ]
    assert doc.title == "Chapitre 0"


def test_docx_vertical_merges_repeat_on_every_row_they_span(tmp_path: Path) -> None:
    start = b'<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:tc>'
    merged = b"<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>"
    cell = b"<w:tc><w:p><w:r><w:t>%d</w:t></w:r></w:p></w:tc>"
    rows = [
        b"<w:tr>" + (start % {0: b"A", 2: b"B"}[i] if i in (0, 2) else merged) + cell % i + b"</w:tr>"
        for i in range(2000)  # python-docx alone recursed once per merged row above: RecursionError
    ]
    doc = only(docx_with_body(tmp_path / "fusion.docx", b"<w:tbl>" + b"".join(rows) + b"</w:tbl>"))
    assert doc.blocks == [Block(T, "A | 0\nA | 1\n" + "\n".join(f"B | {i}" for i in range(2, 2000)))]


@pytest.mark.timeout(10)  # unguarded, these 800,000 empty paragraphs took over ten minutes to read
def test_a_docx_with_too_many_paragraphs_is_refused(tmp_path: Path) -> None:
    path = docx_with_body(tmp_path / "vide.docx", b"<w:p/>" * 800_000)
    assert path.stat().st_size < 100_000
    with pytest.raises(InvalidRequest, match=r"vide\.docx: DOCX file too long to read \(800000 paragraphs"):
        only(path)


def test_a_docx_too_large_once_uncompressed_is_refused(tmp_path: Path) -> None:
    padding = (b" " * 2**20 + b'<w:bookmarkEnd w:id="0"/>') * 51  # over 50 MB of XML that lxml would read
    path = docx_with_body(tmp_path / "gonfle.docx", b"<w:p><w:r><w:t>Lisible.</w:t></w:r></w:p>" + padding)
    with pytest.raises(InvalidRequest, match=r"gonfle\.docx: DOCX file too large once uncompressed"):
        only(path)


RECORDS = [
    {
        "id": "F1234",
        "title": "Perte de la carte d'identité",
        "text": "Intro.\n\n# Démarche\n\n- déclarer la perte\n- refaire la carte\n\n"
        "| Cas | Coût |\n|---|---|\n| perte | 25 € |",
        "url": "https://www.service-public.fr/particuliers/vosdroits/F1234",
        "metadata": {"audience": "particuliers", "theme": ["Papiers", "Identité"]},
        "date": "2020-01-01",
        "breadcrumbs": ["Accueil", "Papiers"],
    },
    {"id": 42, "title": "Ausweis", "text": "Kurz.", "language": "DE", "url": None},
]


def jsonl(records: list[object]) -> bytes:
    return b"\n".join(orjson.dumps(record) for record in records) + b"\n\n"


@pytest.mark.parametrize("name", ["fiches.jsonl", "fiches.jsonl.gz", "FICHES.JSONL.GZ"])
def test_jsonl_records_keep_their_ids(tmp_path: Path, name: str) -> None:
    data = jsonl(list(RECORDS))
    write(tmp_path / name, gzip.compress(data) if name.lower().endswith(".gz") else data)
    first, second = parse_path(tmp_path / name)
    assert (first.id, first.title, first.language) == ("F1234", "Perte de la carte d'identité", "fr")
    assert first.url == "https://www.service-public.fr/particuliers/vosdroits/F1234"
    assert first.metadata == {
        "audience": "particuliers",
        "theme": ["Papiers", "Identité"],
        "date": "2020-01-01",
    }
    assert first.blocks == [
        Block(P, "Intro."),
        Block(H, "Démarche", 1),
        Block(L, "- déclarer la perte\n- refaire la carte"),
        Block(T, "Cas | Coût\nperte | 25 €"),
    ]
    assert (second.id, second.language, second.url, second.blocks) == ("42", "de", None, [Block(P, "Kurz.")])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"title": "t", "text": "x"}', '"id" must be a non-empty string'),
        (b'{"id": "  ", "title": "t", "text": "x"}', '"id" must be a non-empty string'),
        (b'{"id": "a", "title": "t", "text": 3}', "'text' must be a string"),
        (b'{"id": "a", "text": "x"}', "'title' must be a string"),
        (b'{"id": "a", "title": "t", "text": "x", "metadata": [1]}', '"metadata" must be an object'),
        (b'{"id": "a", "title": "t", "text": "x", "url": 5}', "'url' must be a string or null"),
    ],
)
def test_bad_jsonl_record_names_its_line(tmp_path: Path, line: bytes, reason: str) -> None:
    good = orjson.dumps(RECORDS[1])
    path = write(tmp_path / "bad.jsonl.gz", gzip.compress(good + b"\n\n" + line + b"\n"))
    documents = parse_path(path)
    assert next(documents).id == "42"  # records before the bad one are read
    with pytest.raises(InvalidRequest) as raised:
        next(documents)
    assert raised.value.message.startswith("bad.jsonl.gz, line 3: ")
    assert reason in raised.value.message


def test_truncated_gzip_is_an_invalid_request(tmp_path: Path) -> None:
    path = write(tmp_path / "cut.jsonl.gz", gzip.compress(jsonl(list(RECORDS)) * 50)[:60])
    with pytest.raises(InvalidRequest, match=r"cut\.jsonl\.gz: unreadable"):
        list(parse_path(path))


def test_folder_recursive_sorted_hidden_and_unknown_files(tmp_path: Path) -> None:
    write(tmp_path / "b.md", "# B\n\nbe")
    write(tmp_path / "a" / "z.txt", "zed")
    write(tmp_path / "a" / "y.HTML", "<p>why</p>")
    write(tmp_path / "records.jsonl", jsonl([RECORDS[1]]))
    write(tmp_path / ".git" / "notes.md", "# hidden folder")
    write(tmp_path / ".draft.md", "# hidden file")
    write(tmp_path / "~$lock.docx", b"office lock file")
    write(tmp_path / "photo.png", b"\x89PNG")
    write(tmp_path / "a" / "README", "no suffix")
    skipped: list[tuple[Path, str]] = []
    documents = list(parse_path(tmp_path, on_skip=lambda path, reason: skipped.append((path, reason))))
    assert [doc.id for doc in documents] == ["a/y.HTML", "a/z.txt", "b.md", "42"]
    assert [doc.blocks[0].text for doc in documents] == ["why", "zed", "B", "Kurz."]
    assert [(path.relative_to(tmp_path).as_posix(), reason) for path, reason in skipped] == [
        ("a/README", "unsupported file type '(none)'"),
        ("photo.png", "unsupported file type '.png'"),
    ]


def test_skipped_files_are_logged_without_a_callback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "notes.odt", b"odt")
    write(tmp_path / "ok.txt", "ok")
    with caplog.at_level(logging.WARNING, logger="souverain.knowledge.parsers"):
        assert [doc.id for doc in parse_path(tmp_path)] == ["ok.txt"]
    assert "notes.odt" in caplog.text
    assert "unsupported file type '.odt'" in caplog.text


def test_files_without_text_are_reported_not_yielded(tmp_path: Path) -> None:
    write(tmp_path / "blank.txt", "  \n\n ")
    write(tmp_path / "scan.pdf", make_pdf([[]]))
    write(tmp_path / "empty.jsonl", jsonl([{"id": "E1", "title": "Sans texte", "text": ""}]))
    skipped: list[str] = []
    documents = list(
        parse_path(tmp_path, on_skip=lambda path, reason: skipped.append(f"{path.name}: {reason}"))
    )
    assert [(doc.id, doc.blocks) for doc in documents] == [("E1", [])]
    assert skipped == [
        "blank.txt: no text found",
        "scan.pdf: no text found (a scanned PDF needs OCR first)",
    ]


def test_language_default_applies_to_files(tmp_path: Path) -> None:
    (doc,) = parse_path(write(tmp_path / "x.txt", "Hallo"), language="de")
    assert doc.language == "de"


def test_missing_path_and_unsupported_file_are_invalid_requests(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="no such file or folder"):
        list(parse_path(tmp_path / "absent"))
    with pytest.raises(InvalidRequest, match=r"notes\.odt: unsupported file type"):
        list(parse_path(write(tmp_path / "notes.odt", b"odt")))


def test_every_suffix_of_the_contract_is_known() -> None:
    assert {".html", ".htm", ".pdf", ".docx", ".md", ".markdown", ".txt", ".jsonl", ".jsonl.gz"} == SUFFIXES


def test_symbolic_links_are_reported_and_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.txt", "Not to be published.")
    root = tmp_path / "pages"
    write(root / "page.txt", "Published page.")
    (root / "out").symlink_to(outside, target_is_directory=True)  # a folder outside the root
    (root / "host.txt").symlink_to(outside / "secret.txt")  # a file outside the root
    (root / "broken.txt").symlink_to(root / "nowhere.txt")
    (root / "loop").symlink_to(root, target_is_directory=True)
    skipped: list[str] = []
    documents = list(parse_path(root, on_skip=lambda path, reason: skipped.append(f"{path.name}: {reason}")))
    assert [doc.id for doc in documents] == ["page.txt"]
    assert sorted(skipped) == [
        f"{name}: symbolic link not followed" for name in ("broken.txt", "host.txt", "loop", "out")
    ]


def test_text_with_a_utf16_or_utf32_byte_order_mark_is_decoded(tmp_path: Path) -> None:
    text = "Passeport : délai de délivrance."
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        (doc,) = parse_path(write(tmp_path / f"{encoding}.txt", data))
        assert doc.blocks == [Block(BlockKind.PARAGRAPH, text)], encoding


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("garbage.docx", b"PK\x03\x04garbage", "not a readable DOCX file"),
        ("empty.docx", b"", "not a readable DOCX file"),
        ("deep.html", ("<div>" * 2000 + "profond" + "</div>" * 2000).encode(), "HTML nested too deeply"),
    ],
)
def test_damaged_files_are_invalid_requests_naming_the_file(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    with pytest.raises(InvalidRequest, match=f"{name}: {reason}"):
        list(parse_path(write(tmp_path / name, content)))


def test_a_docx_with_malformed_xml_is_an_invalid_request(tmp_path: Path) -> None:
    good = tmp_path / "good.docx"
    docx.Document().save(str(good))
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]  # cut inside an element
            target.writestr(item, data)
    with pytest.raises(InvalidRequest, match=r"broken\.docx: not a readable DOCX file"):
        list(parse_path(broken))
