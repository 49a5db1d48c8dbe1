"""``souverain ingest`` and ``souverain search`` in-process through typer's runner, with the real encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from souverain.cli import knowledge

RECORDS = [
    {
        "id": "F1341",
        "title": "Carte d'identité perdue à l'étranger",
        "text": "# Démarches\n\nEn cas de perte de la carte d'identité à l'étranger, adressez-vous au "
        "consulat de France le plus proche, qui délivre un titre de voyage provisoire.",
        "url": "https://www.service-public.fr/particuliers/vosdroits/F1341",
    },
    {
        "id": "F1460",
        "title": "Permis de conduire : renouvellement",
        "text": "Le renouvellement du permis de conduire se fait en ligne sur le site de l'ANTS.",
    },
    {
        "id": "F1961",
        "title": "Déclaration de naissance",
        "text": "La naissance d'un enfant doit être déclarée à la mairie dans les cinq jours.",
    },
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty.toml").write_text("")
    return {"SOUVERAIN_DATA_DIR": str(tmp_path / "data"), "SOUVERAIN_CONFIG": str(tmp_path / "empty.toml")}


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    path = tmp_path / "pages.jsonl"
    path.write_text("\n".join(json.dumps(record, ensure_ascii=False) for record in RECORDS) + "\n")
    return path


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    app = typer_app()
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def typer_app() -> typer.Typer:
    """The two commands as the lead registers them on the ``souverain`` app."""
    app = typer.Typer()
    app.command("ingest")(knowledge.ingest)
    app.command("search")(knowledge.search)
    return app


@pytest.mark.timeout(240)  # several loads of the sentence encoder on a busy 2-core machine
def test_ingest_is_idempotent_and_search_answers_in_json(env: dict[str, str], pages: Path) -> None:
    code, out, err = invoke(env, "ingest", str(pages), "--collection", "fiches", "--json")
    assert code == 0, err
    assert json.loads(out)["added"] == 3
    assert "created collection 'fiches'" in err
    assert "3/3" in err  # the progress bar reached the end

    code, out, err = invoke(env, "ingest", str(pages), "--collection", "fiches")
    assert code == 0, err
    assert out.startswith("fiches: 0 added, 0 updated, 3 unchanged")

    code, out, err = invoke(
        env, "search", "Ausweis im Ausland verloren", "--collection", "fiches", "--k", "2", "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["object"] == "list"
    assert len(body["data"]) == 2
    first = body["data"][0]
    assert (first["document_id"], first["chunk_id"], first["collection"]) == ("F1341", "F1341#0", "fiches")
    assert first["url"] == RECORDS[0]["url"]
    assert first["section"] == "Démarches"

    code, out, _ = invoke(env, "search", "permis de conduire", "--collection", "fiches")
    assert code == 0
    assert out.splitlines()[0].split()[2:4] == ["F1460", "Permis"]


@pytest.mark.timeout(240)
def test_batch_search_reads_and_writes_json_lines(env: dict[str, str], pages: Path) -> None:
    assert invoke(env, "ingest", str(pages), "--collection", "fiches")[0] == 0
    questions = [
        {"id": "q1", "query": "How do I renew my driving licence?"},
        {"id": "q2", "query": "déclarer la naissance de mon enfant"},
    ]
    stdin = "\n".join(json.dumps(q) for q in questions) + "\n\n"
    code, out, err = invoke(env, "search", "--collection", "fiches", "--k", "2", "--jsonl", stdin=stdin)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2"]
    assert [line["results"][0]["document_id"] for line in lines] == ["F1460", "F1961"]
    assert set(lines[0]["results"][0]) == {"document_id", "chunk_id", "score", "title"}
    assert len(lines[1]["results"]) == 2

    code, out, err = invoke(env, "search", "--collection", "fiches", "--jsonl", stdin='{"query": "x"}\n')
    assert code == 2
    assert "line 1" in err


@pytest.mark.timeout(240)
def test_the_query_language_brings_the_german_glossary(env: dict[str, str], pages: Path) -> None:
    assert invoke(env, "ingest", str(pages), "--collection", "fiches")[0] == 0
    stdin = json.dumps({"id": "g1", "query": "Wo melde ich die Geburt meines Kindes an?"}) + "\n"
    scores = {}
    for language in ("de", "en"):  # both foreign to the pages; only German has a glossary
        args = ("search", "--collection", "fiches", "--k", "3", "--jsonl", "--language", language)
        code, out, err = invoke(env, *args, stdin=stdin)
        assert code == 0, err
        [line] = [json.loads(row) for row in out.splitlines()]
        scores[language] = {hit["document_id"]: hit["score"] for hit in line["results"]}
    # "Geburt" and "Kindes" become "naissance" and "enfant": full text finds the page on births too
    assert max(scores["de"], key=lambda d: scores["de"][d]) == "F1961"
    assert scores["de"]["F1961"] > scores["en"].get("F1961", 0.0)
    code, out, err = invoke(env, "search", "Geburt", "--collection", "fiches", "--language", "es")
    assert code == 2


def test_errors_are_explained(env: dict[str, str]) -> None:
    # a refused ingestion leaves no collection behind (a retry may then choose its classification)
    code, _, err = invoke(env, "ingest", "/nonexistent/pages", "--collection", "refusee")
    assert code == 1
    assert "no such file or folder" in err
    code, _, err = invoke(env, "search", "carte", "--collection", "refusee")
    assert code == 1
    assert "does not exist" in err
    code, _, err = invoke(env, "search", "carte", "--collection", "absente")
    assert code == 1
    assert "does not exist" in err
    code, _, err = invoke(env, "search", "--collection", "absente")
    assert code == 2
    assert "either a query or --jsonl" in err


@pytest.mark.timeout(240)
def test_repeated_ids_empty_pages_and_unregistered_readers_are_warned_about(
    env: dict[str, str], tmp_path: Path
) -> None:
    records = [
        *RECORDS,
        {**RECORDS[0], "text": "Une autre version."},
        {"id": "V1", "title": "Vide", "text": ""},
    ]
    path = tmp_path / "pages.jsonl"
    path.write_text("\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n")
    code, out, err = invoke(env, "ingest", str(path), "--collection", "fiches", "--use-case", "guichet")
    assert code == 0, err
    assert out.startswith("fiches: 3 added, 0 updated, 0 unchanged, 0 deleted")
    assert "warning: the tenant 'demo' has no use case 'guichet'" in err
    assert "warning: 1 documents repeat an earlier one's id and were skipped (F1341)" in err
    assert "warning: 1 documents hold no text and were not stored (V1)" in err
    code, out, err = invoke(env, "ingest", str(path), "--collection", "fiches", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["unchanged"], report["duplicates"], report["empty"]) == (3, 1, 1)
    assert "no use case" not in err  # the collection exists: its readers are not set again
