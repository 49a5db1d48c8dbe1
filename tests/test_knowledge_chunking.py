"""Structure-aware chunking: sections carried, lists and tables kept whole, sizes bounded."""

from __future__ import annotations

import pytest

from souverain.errors import InvalidRequest
from souverain.knowledge.chunking import chunk_document
from souverain.knowledge.parsers import parse_markdown
from souverain.knowledge.types import Block, BlockKind, Chunk, SourceDocument


def document(markdown: str) -> SourceDocument:
    return SourceDocument(id="F1", title="Carte d'identité", blocks=parse_markdown(markdown))


def test_small_paragraphs_of_a_section_are_merged_and_sections_carried() -> None:
    chunks = chunk_document(
        document(
            "Avant tout titre.\n\n# Démarches\n\nUn.\n\nDeux.\n\n## En mairie\n\nTrois.\n\n# Coût\n\nQuatre."
        )
    )
    assert chunks == [
        Chunk("F1", 0, "Carte d'identité", "", "Avant tout titre."),
        Chunk("F1", 1, "Carte d'identité", "Démarches", "Un.\n\nDeux."),
        Chunk("F1", 2, "Carte d'identité", "Démarches > En mairie", "Trois."),
        Chunk("F1", 3, "Carte d'identité", "Coût", "Quatre."),
    ]
    assert [chunk.chunk_id for chunk in chunks] == ["F1#0", "F1#1", "F1#2", "F1#3"]


def test_heading_path_pops_back_to_the_right_level() -> None:
    chunks = chunk_document(document("# A\n\n### A3\n\nx\n\n## B2\n\ny\n\n# C\n\nz"))
    assert [chunk.section for chunk in chunks] == ["A > A3", "A > B2", "C"]


def test_list_and_table_are_kept_whole_and_packed_with_their_intro() -> None:
    items = "\n".join(f"- pièce numéro {n}" for n in range(10))
    rows = "\n".join(f"| cas {n} | {n} € |" for n in range(8))
    markdown = f"# Pièces\n\nIl faut :\n\n{items}\n\n## Tarifs\n\n| Cas | Prix |\n|---|---|\n{rows}\n"
    text_of = {chunk.section: chunk.text for chunk in chunk_document(document(markdown), max_chars=300)}
    assert text_of["Pièces"] == "Il faut :\n\n" + items
    assert text_of["Pièces > Tarifs"].startswith("Cas | Prix\ncas 0 | 0 €")
    assert text_of["Pièces > Tarifs"].count("\n") == 8


def test_a_list_moves_to_the_next_chunk_rather_than_being_split() -> None:
    long_paragraph = "Phrase assez longue pour remplir. " * 6  # ~200 characters
    items = "\n".join(f"- élément {n}" for n in range(8))  # ~100 characters
    chunks = chunk_document(document(f"{long_paragraph}\n\n{items}"), max_chars=250)
    assert [chunk.text for chunk in chunks] == [long_paragraph.strip(), items]


def test_oversized_table_is_split_between_rows_repeating_its_header() -> None:
    rows = [f"| ligne {n} | {'x' * 40} |" for n in range(30)]
    markdown = "| Situation | Montant |\n|---|---|\n" + "\n".join(rows)
    chunks = chunk_document(document(markdown), max_chars=300)
    assert len(chunks) > 1
    body_rows: list[str] = []
    for chunk in chunks:
        header, *lines = chunk.text.split("\n")
        assert header == "Situation | Montant"
        assert len(chunk.text) <= 300
        body_rows.extend(lines)
    assert body_rows == [f"ligne {n} | {'x' * 40}" for n in range(30)]


def test_oversized_list_is_split_between_items() -> None:
    items = [f"- démarche numéro {n} à effectuer en ligne" for n in range(40)]
    chunks = chunk_document(document("\n".join(items)), max_chars=200)
    assert len(chunks) > 1
    assert all(len(chunk.text) <= 200 for chunk in chunks)
    assert "\n".join(chunk.text for chunk in chunks).split("\n") == items


def test_overlong_paragraph_is_split_at_sentence_boundaries() -> None:
    sentences = [f"La phrase {n} explique une étape de la démarche." for n in range(40)]
    chunks = chunk_document(document(" ".join(sentences)), max_chars=200)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk.text) <= 200
        assert chunk.text.startswith("La phrase ")
        assert chunk.text.endswith("démarche.")
    assert " ".join(chunk.text for chunk in chunks) == " ".join(sentences)


def test_a_sentence_longer_than_the_limit_is_cut_between_words() -> None:
    words = [f"mot{n}" for n in range(200)]
    chunks = chunk_document(document(" ".join(words)), max_chars=100)
    assert all(len(chunk.text) <= 100 for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks).split() == words


def test_lines_of_a_paragraph_are_split_points_too() -> None:
    lines = [f"Ligne sans point numéro {n}" for n in range(30)]
    chunks = chunk_document(document("\n".join(lines)), max_chars=150)
    assert all(len(chunk.text) <= 150 for chunk in chunks)
    assert "\n".join(chunk.text for chunk in chunks).split("\n") == lines


def test_empty_documents_and_headings_only_give_no_chunks() -> None:
    assert chunk_document(SourceDocument(id="e", title="Vide", blocks=[])) == []
    headings_only = [Block(BlockKind.HEADING, "Titre", 1), Block(BlockKind.HEADING, "Sous-titre", 2)]
    assert chunk_document(SourceDocument(id="h", title="T", blocks=headings_only)) == []


@pytest.mark.parametrize("max_chars", [200, 500, 1200])
def test_every_chunk_fits_and_no_text_is_lost(max_chars: int) -> None:
    section = "\n\n".join(
        [
            "Introduction courte.",
            "Un paragraphe moyen qui parle de la démarche. " * 5,
            "\n".join(f"- item {n} " + "y" * 20 for n in range(15)),
            "| A | B |\n|---|---|\n" + "\n".join(f"| {n} | {'z' * 30} |" for n in range(20)),
        ]
    )
    doc = document(f"# Un\n\n{section}\n\n# Deux\n\n{section}")
    chunks = chunk_document(doc, max_chars=max_chars)
    assert all(0 < len(chunk.text) <= max_chars for chunk in chunks)
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    words = {
        word for block in doc.blocks if block.kind is not BlockKind.HEADING for word in block.text.split()
    }
    assert words == {word for chunk in chunks for word in chunk.text.split()}


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="max_chars"):
        chunk_document(document("x"), max_chars=10)
