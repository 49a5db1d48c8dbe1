"""The demo corpus converter, on a committed extract of the real fiches-vdd tarball (see its SOURCE.md)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from souverain.errors import InvalidRequest
from souverain.knowledge.corpus import fiches_vdd
from souverain.knowledge.corpus.vdd_markdown import Element, inline_text, table_grid
from souverain.knowledge.parsers.markdown import parse_markdown
from souverain.knowledge.types import BlockKind

EXTRACT = Path(__file__).parent / "data" / "knowledge" / "fiches-vdd" / "fiches-vdd-extract.tgz"
EXTRACT_SHA256 = "6c258a6d1e43ccd91531fa91540d364690508416c6ed867e8098537182d92117"  # as in SOURCE.md


def _records(audience: str = "particuliers") -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in fiches_vdd.convert(EXTRACT, audience, sha256=EXTRACT_SHA256)}


def _page(audience: str, page_id: str) -> dict[str, Any]:
    """The raw element tree of a page of the extract, read independently of the converter."""
    with tarfile.open(EXTRACT) as archive:
        stream = archive.extractfile(f"package/data/{audience}/{page_id}.json")
        assert stream is not None
        page: dict[str, Any] = json.load(stream)
        return page


def _texts_of(element: Element, name: str) -> list[str]:
    found: list[str] = []
    if element.get("name") == name:
        found.append(inline_text(element))
    for child in element.get("children") or []:
        found.extend(_texts_of(child, name))
    return [text for text in found if text]


def test_the_pinned_tarball_digest_refuses_the_extract() -> None:
    fiches_vdd.verify_tarball(EXTRACT, EXTRACT_SHA256)
    with pytest.raises(InvalidRequest) as refused:
        fiches_vdd.verify_tarball(EXTRACT)  # the extract is not the pinned npm tarball
    assert refused.value.code == "checksum_mismatch"


def test_a_tampered_tarball_is_refused_before_any_record(tmp_path: Path) -> None:
    tampered = tmp_path / "fiches.tgz"
    data = bytearray(EXTRACT.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(InvalidRequest) as refused:
        fiches_vdd.convert(tampered, sha256=EXTRACT_SHA256)  # eager: no iteration needed to be refused
    assert refused.value.code == "checksum_mismatch"
    assert EXTRACT_SHA256 in refused.value.message


def test_only_the_pages_of_the_audience_become_records() -> None:
    particuliers = _records("particuliers")
    professionnels = _records("professionnels")
    assert sorted(particuliers) == ["F1657", "F1894", "R45159"]  # index.json is not a page
    assert sorted(professionnels) == ["F34639"]
    assert _records("associations") == {}
    with pytest.raises(InvalidRequest):
        fiches_vdd.convert(EXTRACT, "entreprises", sha256=EXTRACT_SHA256)


def test_ids_urls_titles_and_metadata_come_from_the_page() -> None:
    records = _records()
    for page_id, record in records.items():
        root = _page("particuliers", page_id)["children"][0]
        dublin_core = {child["name"]: inline_text(child) for child in root["children"] if "name" in child}
        assert record["url"] == f"https://www.service-public.fr/particuliers/vosdroits/{page_id}"
        assert record["title"] == dublin_core["dc:title"]
        assert record["language"] == "fr"
        metadata = record["metadata"]
        assert metadata["audience"] == "particuliers"
        assert metadata["pub_type"] == root["attributes"]["type"]
        assert metadata["description"] == dublin_core["dc:description"]
        assert metadata["subject"] == dublin_core["dc:subject"]
        assert dublin_core["dc:date"].endswith(metadata["date"])
        assert len(metadata["date"]) == 10
        assert metadata["breadcrumbs"] == _texts_of(root, "Niveau")
    assert records["F1894"]["metadata"]["breadcrumbs"][:2] == ["Accueil particuliers", "Famille"]
    # a page filed under several audiences gets the theme of this audience, the subject keeps them all
    assert records["R45159"]["metadata"]["theme"] == "Argent"
    assert records["R45159"]["metadata"]["subject"] == "Argent, Fiscalité"


def test_professional_pages_link_to_the_site_section_for_businesses() -> None:
    record = _records("professionnels")["F34639"]
    assert record["url"] == "https://www.service-public.fr/professionnels-entreprises/vosdroits/F34639"
    assert "- Société européenne (Agence France Entrepreneur (AFE - ex-APCE))" in record["text"].splitlines()


def test_headings_lists_and_remarks_keep_their_structure() -> None:
    text = _records()["F1894"]["text"]
    lines = text.splitlines()
    assert "# De quoi s'agit-il ?" in lines
    assert "## Véhicule des parents" in lines  # a case inside a chapter is one level down
    assert "- par vous-même avec votre véhicule," in lines
    assert any(line.startswith("À noter : dans la région Île-de-France") for line in lines)
    assert "Où s'adresser : Établissement scolaire" in lines
    assert "\n\n" in text  # paragraphs separated by exactly one blank line
    assert "\n\n\n" not in text
    blocks = parse_markdown(text)
    kinds = [block.kind for block in blocks]
    assert kinds[0] is BlockKind.HEADING
    assert blocks[0].level == 1
    assert kinds.count(BlockKind.LIST) >= 3


def test_tables_become_rows_with_merged_cells_repeated() -> None:
    text = _records()["F1657"]["text"]
    lines = text.splitlines()
    header = lines.index("|  | Revenus annuels maximum | Revenus annuels maximum |")
    assert lines[header + 1] == "| --- | --- | --- |"
    assert "| 0 | 10 832 € | 19 607 € |" in lines
    tables = [block for block in parse_markdown(text) if block.kind is BlockKind.TABLE]
    assert len(tables) == 1
    assert "4 | 32 497 € | 41 271 €" in tables[0].text


def test_navigation_and_sidebars_are_left_out() -> None:
    for page_id, record in _records().items():
        root = _page("particuliers", page_id)["children"][0]
        for name in ("QuestionReponse", "Reference", "PourEnSavoirPlus", "FicheLiee"):
            for text in _texts_of(root, name):
                assert text not in record["text"], (page_id, name, text)
        assert "Accueil particuliers" not in record["text"]


def test_markdown_characters_are_escaped_so_a_parser_gives_the_words_back() -> None:
    record = _records()["R45159"]
    assert record["text"].startswith("Cerfa n° 15569\\*01, autre numéro : 6672-SD")
    blocks = parse_markdown(record["text"])
    assert blocks[0].text == "Cerfa n° 15569*01, autre numéro : 6672-SD"
    assert any(block.text == "- Contact support Impôts" for block in blocks)


def test_table_grid_repeats_spans_across_and_down() -> None:
    def cell(text: str, across: str = "", down: str = "") -> Element:
        attributes = {"fusionHorizontale": across, "fusionVerticale": down}
        paragraph = {"type": "element", "name": "Paragraphe", "children": [{"type": "text", "text": text}]}
        return {"type": "element", "name": "Cellule", "attributes": attributes, "children": [paragraph]}

    def row(*cells: Element) -> Element:
        return {"type": "element", "name": "Rangée", "children": list(cells)}

    columns = [{"type": "element", "name": "Colonne"} for _ in range(3)]
    table = {
        "type": "element",
        "name": "Tableau",
        "children": [*columns, row(cell("A", down="2"), cell("B", across="2")), row(cell("c"), cell("d"))],
    }
    assert table_grid(table) == [["A", "B", "B"], ["A", "c", "d"]]


def test_write_jsonl_gzips_and_main_writes_the_records(tmp_path: Path) -> None:
    expected = list(fiches_vdd.convert(EXTRACT, sha256=EXTRACT_SHA256))
    plain, packed = tmp_path / "out.jsonl", tmp_path / "out.jsonl.gz"
    assert fiches_vdd.write_jsonl(expected, plain) == len(expected) == 3
    assert [json.loads(line) for line in plain.read_text().splitlines()] == expected
    assert fiches_vdd.main([str(EXTRACT), str(packed), "--sha256", EXTRACT_SHA256]) == 0
    with gzip.open(packed, "rt", encoding="utf-8") as lines:
        assert [json.loads(line) for line in lines] == expected
    first = packed.read_bytes()
    assert fiches_vdd.main([str(EXTRACT), str(packed), "--sha256", EXTRACT_SHA256]) == 0
    assert packed.read_bytes() == first  # reproducible: no time or name in the gzip header


def test_main_refuses_a_tarball_that_is_not_the_pinned_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl.gz"
    assert fiches_vdd.main([str(EXTRACT), str(out)]) == 1
    assert not out.exists()
    assert "sha256" in capsys.readouterr().err


def test_a_flat_repackaging_of_the_data_folder_is_read_too(tmp_path: Path) -> None:
    """The shared copy of the corpus keeps ``data/`` at the top, without the ``package/`` folder."""
    flat = tmp_path / "flat.tar.gz"
    with tarfile.open(EXTRACT) as source, tarfile.open(flat, "w:gz") as target:
        for member in source.getmembers():
            stream = source.extractfile(member) if member.isfile() else None
            if stream is not None:
                member.name = member.name.removeprefix("package/")
                target.addfile(member, io.BytesIO(stream.read()))
    digest = hashlib.sha256(flat.read_bytes()).hexdigest()
    assert sorted(record["id"] for record in fiches_vdd.convert(flat, sha256=digest)) == sorted(_records())
