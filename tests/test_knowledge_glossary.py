"""Query translation through the German → French and Luxembourgish → French glossaries: which words are
looked up, how inflected and compound nouns are found, the shipped glossaries, and German and Luxembourgish
questions reaching French pages through full text in the retriever."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from souverain.knowledge.embedder import HashingEmbedder
from souverain.knowledge.glossary import Glossary, bundled, expanded
from souverain.knowledge.search import RetrievalConfig
from souverain.knowledge.types import SearchRequest
from souverain.settings import Classification
from tests.knowledge_fixtures import CARTE, PAGES, scope, service_over

SMALL = Glossary.parse(
    "de",
    "ausweis\tpièce d'identité\n"
    "karte\tcarte\n"
    "bank\tbanque|banc\n"
    "geburtsurkunde\tacte de naissance\n"
    "kind\tenfant|gosse\n"
    "ausland\tétranger\n"
    "empty\t\n",
)
TENANT = "ville"
READER = scope(TENANT)
# full text alone decides (the hashing encoder knows no language): a German question reaches a French page
# only through the French terms the glossary adds
LEXICAL = RetrievalConfig.lexical_only()


def shipped_headwords(name: str) -> list[str]:
    """The headwords of a shipped glossary file, as written, comment lines left out."""
    path = Path(__file__).parent.parent / "src/souverain/knowledge/glossaries" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if not line.startswith("#")]


def test_parse_keeps_words_with_terms_in_order() -> None:
    assert SMALL.entries["bank"] == ("banque", "banc")
    assert "empty" not in SMALL.entries
    assert SMALL.language == "de"


@pytest.mark.parametrize(
    ("word", "terms"),
    [
        ("Geburtsurkunde", ("acte de naissance",)),
        ("Geburtsurkunden", ("acte de naissance",)),  # plural
        ("Kindes", ("enfant", "gosse")),  # genitive
        ("Kindern", ("enfant", "gosse")),  # dative plural
        ("Bankkarte", ("carte", "banque")),  # compound: its tail, then its head
        ("Personalausweis", ("pièce d'identité",)),  # a head the glossary does not know is left out
        ("Auslandskarte", ("carte", "étranger")),  # the linking "s" after the head
        ("Haus", ()),
        ("te", ()),
    ],
)
def test_lookup_finds_inflected_and_compound_nouns(word: str, terms: tuple[str, ...]) -> None:
    assert SMALL.lookup(word) == terms


def test_translate_looks_up_capitalised_words_only() -> None:
    # "karte" lower case is not a noun to German spelling; "PACS" is an acronym, the same in French; "Wie"
    # is a stop word even with its capital
    assert SMALL.translate("Wie bekomme ich eine Geburtsurkunde für mein Kind im Ausland?") == (
        "acte de naissance enfant gosse étranger"
    )
    assert SMALL.translate("karte PACS Haus") == ""


def test_expanded_appends_the_terms_or_leaves_the_query() -> None:
    assert expanded("Meine Bankkarte", SMALL) == "Meine Bankkarte carte banque"
    assert expanded("Guten Tag", SMALL) == "Guten Tag"
    assert expanded("Meine Bankkarte", None) == "Meine Bankkarte"


def test_parse_skips_comment_lines() -> None:
    glossary = Glossary.parse("lb", "# a comment\twith a tab\npass\tpasseport\n")
    assert glossary.entries == {"pass": ("passeport",)}


def test_a_luxembourgish_question_looks_up_its_nouns_not_its_function_words() -> None:
    # "Wéi" and "Mäi" open the questions with a capital but are function words, even spelt with accents
    glossary = Glossary.parse(
        "lb", "wei\tcomment\nmai\tmai\ngebuertsurkonn\tacte de naissance\nkand\tenfant\nkaart\tcarte\n"
    )
    assert glossary.translate("Wéi kréien ech eng Gebuertsurkonn fir mäi Kand?") == "acte de naissance enfant"
    assert glossary.translate("Mäi Kand huet seng Bankkaart verluer") == "enfant carte"


def test_the_shipped_luxembourgish_glossary() -> None:
    glossary = bundled("lb")
    assert glossary is not None
    assert glossary.lookup("Identitéitskaart") == ("carte d'identité",)
    assert glossary.lookup("Gebuertsurkonn") == ("acte de naissance",)
    assert glossary.lookup("Kautioun") == ("dépôt de garantie", "caution")
    assert glossary.lookup("Führerschäin") == ("permis de conduire",)
    assert glossary.translate("Mäi Jong huet seng Identitéitskaart am Ausland verluer, wat maachen?") == (
        "fils carte d'identité étranger"
    )
    # one line per headword: lower case, written once, one or two terms
    words = shipped_headwords("lb-fr.tsv")
    assert len(words) == len(set(words)) == len(glossary.entries) > 150
    assert all(word == word.lower() and word.strip() == word for word in words)
    assert all(0 < len(terms) <= 2 for terms in glossary.entries.values())
    assert bundled("lb") is glossary  # read once


def test_an_english_question_is_read_by_its_longest_known_phrases() -> None:
    glossary = Glossary.parse(
        "en",
        "card\tcarte\nidentity card\tcarte d'identité\nsecurity deposit\tdépôt de garantie\n"
        "deposit\tacompte\nhousing benefit\taide au logement|apl\ndriver's license\tpermis de conduire\n"
        "abroad\tétranger\nwill\tvolonté\npart-time\ttemps partiel\n",
    )
    assert glossary.translate("My son lost his Identity Card abroad") == "carte d'identité étranger"
    assert glossary.translate("my landlord keeps my security deposit") == "dépôt de garantie"  # not "acompte"
    assert glossary.translate("Can students get housing benefits?") == "aide au logement apl"  # plural
    assert glossary.translate("I need a new driver’s license for part-time work") == (
        "permis de conduire temps partiel"  # typographic apostrophe, hyphenated word
    )
    assert glossary.translate("Will I get it?") == ""  # an English function word is never looked up alone
    assert glossary.translate("card card identity card") == "carte carte d'identité"  # each term once


def test_the_shipped_english_glossary() -> None:
    glossary = bundled("en")
    assert glossary is not None
    assert glossary.translate("My son lost his identity card abroad, what should we do?") == (
        "perte carte d'identité étranger"
    )
    assert glossary.translate("My landlord won't give back my security deposit") == (
        "propriétaire bailleur dépôt de garantie"
    )
    assert glossary.translate("Is it fine if I will my house to my niece?") == "maison logement"
    phrases = shipped_headwords("en-fr.tsv")
    assert len(phrases) == len(set(phrases)) == len(glossary.entries) > 200
    assert all(phrase == phrase.lower() and 0 < len(phrase.split()) <= 4 for phrase in phrases)
    assert bundled("en") is glossary  # read once


def test_the_shipped_german_glossary() -> None:
    glossary = bundled("de")
    assert glossary is not None
    assert len(glossary.entries) > 30_000
    assert glossary.lookup("Personalausweis") == ("carte d'identité",)
    assert glossary.lookup("Geburtsurkunde") == ("acte de naissance",)
    assert glossary.lookup("Führerschein") == ("permis de conduire",)
    # every entry has one to two terms, without the dictionary's sense numbers ("1. carte 2.")
    assert all(0 < len(terms) <= 2 for terms in glossary.entries.values())
    numbered = re.compile(r"^\d+\.\s|\s\d+\.$")
    assert not any(numbered.search(term) for terms in glossary.entries.values() for term in terms)
    assert [bundled(language) for language in ("fr", "pt")] == [None, None]
    assert bundled("de") is glossary  # read once


@pytest.mark.parametrize(
    ("language", "lines", "question"),
    [
        (
            "de",
            "verlust\tperte\nausland\tétranger\nbotschaft\tambassade\n",
            "Verlust im Ausland: hilft die Botschaft?",
        ),
        (
            "lb",
            "verloscht\tperte\nausland\tétranger\nvertriedung\tambassade\n",
            "Verloscht am Ausland: hëlleft d'Vertriedung?",
        ),
        ("en", "lost\tperte\nabroad\tétranger\nembassy\tambassade\n", "Lost abroad: will the embassy help?"),
    ],
)
def test_a_question_reaches_the_french_page_through_its_glossary(
    tmp_path: Path, language: str, lines: str, question: str
) -> None:
    glossary = Glossary.parse(language, lines)
    config = dataclasses.replace(LEXICAL, glossary_languages=("de", "lb", "en"))  # English: a setting
    with service_over(f"sqlite:///{tmp_path / 'kb.db'}", HashingEmbedder(), config) as service:
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        service.ingest(TENANT, "aides", PAGES)
        service.retriever.glossaries = {language: glossary}.get
        hits = service.search(READER, SearchRequest(question, ("aides",), language=language))
        assert hits[0].document_id == CARTE.id
        assert hits[0].score > 0
        # the same question without its language, or with the glossary turned off, shares no word with
        # the pages: nothing scores
        assert not any(hit.score for hit in service.search(READER, SearchRequest(question, ("aides",))))
    off = dataclasses.replace(config, glossary_languages=())
    with service_over(f"sqlite:///{tmp_path / 'off.db'}", HashingEmbedder(), off) as service:
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        service.ingest(TENANT, "aides", PAGES)
        service.retriever.glossaries = {language: glossary}.get
        hits = service.search(READER, SearchRequest(question, ("aides",), language=language))
        assert not any(hit.score for hit in hits)


def test_a_french_question_is_never_translated(tmp_path: Path) -> None:
    asked: list[str] = []

    def glossaries(language: str) -> Glossary | None:
        asked.append(language)
        return SMALL

    with service_over(f"sqlite:///{tmp_path / 'kb.db'}", HashingEmbedder(), LEXICAL) as service:
        service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
        service.ingest(TENANT, "aides", PAGES)
        service.retriever.glossaries = glossaries
        service.search(READER, SearchRequest("perte à l'étranger", ("aides",), language="fr"))
        service.search(READER, SearchRequest("perte à l'étranger", ("aides",)))
        assert asked == []
        service.search(READER, SearchRequest("Verlust im Ausland", ("aides",), language="de-LU"))
        assert asked == ["de"]


def test_english_questions_use_their_glossary_only_when_the_deployment_lists_english(tmp_path: Path) -> None:
    asked: list[str] = []

    def glossaries(language: str) -> Glossary | None:
        asked.append(language)
        return SMALL

    for number, (languages, expected) in enumerate(
        ((RetrievalConfig().glossary_languages, []), (("de", "en"), ["en"]))
    ):
        config = dataclasses.replace(LEXICAL, glossary_languages=languages)
        with service_over(f"sqlite:///{tmp_path / f'{number}.db'}", HashingEmbedder(), config) as service:
            service.create_collection(TENANT, "aides", Classification.PUBLIC, ["guichet"])
            service.ingest(TENANT, "aides", PAGES)
            service.retriever.glossaries = glossaries
            asked.clear()
            service.search(READER, SearchRequest("lost abroad", ("aides",), language="en"))
            assert asked == expected, languages
    assert RetrievalConfig().glossary_languages == ("de", "lb")
