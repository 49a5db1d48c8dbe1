"""Helpers for the knowledge-base tests: pages written in Markdown, and a service over a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from souverain.knowledge import analysis, chunking
from souverain.knowledge.embedder import Embedder, HashingEmbedder
from souverain.knowledge.ingest import IngestConfig
from souverain.knowledge.parsers import parse_markdown
from souverain.knowledge.search import RetrievalConfig
from souverain.knowledge.service import KnowledgeService
from souverain.knowledge.types import Scope, SourceDocument
from souverain.settings import Classification
from souverain.storage.database import Database


def page(
    document_id: str,
    title: str,
    markdown: str,
    *,
    language: str = "fr",
    url: str | None = None,
    **metadata: Any,
) -> SourceDocument:
    """A document parsed from Markdown, as the JSON-lines parser would make it."""
    return SourceDocument(
        id=document_id,
        title=title,
        blocks=parse_markdown(markdown),
        url=url or f"https://example.test/{document_id}",
        language=language,
        metadata=dict(metadata),
    )


def scope(tenant: str, use_case: str | None = "guichet", ceiling: str = "internal") -> Scope:
    """A caller's scope."""
    return Scope(tenant=tenant, use_case=use_case, classification=Classification(ceiling))


@contextmanager
def service_over(
    url: str,
    embedder: Embedder | None = None,
    retrieval: RetrievalConfig | None = None,
    ingestion: IngestConfig | None = None,
) -> Iterator[KnowledgeService]:
    """A knowledge service over the database at ``url``, migrated; the database is closed afterwards."""
    database = Database(url)
    database.migrate()
    try:
        yield KnowledgeService(
            database,
            embedder or HashingEmbedder(),
            analysis,
            chunking.chunk_document,
            retrieval,
            ingestion,
        )
    finally:
        database.close()


CARTE = page(
    "F1341",
    "Carte d'identité : perte ou vol",
    "# Perte à l'étranger\n\nEn cas de perte de la carte nationale d'identité à l'étranger, "
    "adressez-vous au consulat ou à l'ambassade de France.\n\n"
    "# Démarches\n\n- Déclaration de perte au consulat\n- Demande de renouvellement en mairie\n",
    theme="Papiers",
)
PERMIS = page(
    "F1460",
    "Permis de conduire : renouvellement",
    "Le renouvellement du permis de conduire se fait en ligne sur le site de l'ANTS. "
    "Il faut une photo numérique et un justificatif de domicile.",
    theme="Transports",
)
NAISSANCE = page(
    "F1961",
    "Déclaration de naissance",
    "La déclaration de naissance est obligatoire dans les cinq jours qui suivent l'accouchement. "
    "Elle est faite à la mairie du lieu de naissance par le père ou un tiers.",
    theme="Famille",
)
PAGES = [CARTE, PERMIS, NAISSANCE]

# a page whose first section opens with one line and gives its figures in subsections
SECTIONED = page(
    "F34752",
    "Combien coûte un passeport ?",
    "# Pour un adulte\n\nLe montant du passeport d'une personne majeure dépend du lieu où la demande est "
    "déposée, en France ou à l'étranger.\n\n"
    "## En métropole\n\nEn métropole, le passeport d'un adulte coûte 86 euros, payés par timbre fiscal "
    "acheté en ligne ou chez un buraliste.\n\n"
    "## À l'étranger\n\nÀ l'étranger, le passeport d'un adulte coûte 96 euros, payés au consulat au moment "
    "du dépôt du dossier de demande.\n\n"
    "# Pour un mineur\n\nLe passeport d'un mineur coûte 42 euros entre 15 et 17 ans et 17 euros avant "
    "15 ans, quel que soit le lieu de la demande.",
)
