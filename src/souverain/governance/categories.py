"""Declared use-case categories and what the EU AI Act says about each (stable identifiers).

A use case declares one category from this list instead of having its risk guessed from free text.
Prohibited practices (Art. 5) cannot be registered; high-risk ones (Annex III) need a fundamental-rights
impact assessment (Art. 27), a DPIA (GDPR Art. 35) and human approval of every outcome (Art. 14).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Risk(StrEnum):
    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"
    PROHIBITED = "prohibited"


@dataclass(frozen=True)
class Category:
    id: str
    risk: Risk
    legal_reference: str
    description: str


_ALL = (
    # Art. 5 — prohibited practices
    Category(
        "social_scoring",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(c)",
        "Evaluating or classifying people by social behaviour or personality, to their detriment.",
    ),
    Category(
        "emotion_recognition_workplace",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(f)",
        "Inferring the emotions of people at the workplace.",
    ),
    Category(
        "emotion_recognition_education",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(f)",
        "Inferring the emotions of people in education institutions.",
    ),
    Category(
        "biometric_categorisation",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(g)",
        "Categorising people by biometric data to infer race, opinions, beliefs or sexual orientation.",
    ),
    Category(
        "manipulation_of_vulnerable",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(a)-(b)",
        "Manipulative techniques or exploiting vulnerabilities due to age, disability or social situation.",
    ),
    Category(
        "predictive_policing_profiling",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(d)",
        "Assessing the risk that a person commits a crime based solely on profiling or personality traits.",
    ),
    Category(
        "untargeted_face_scraping",
        Risk.PROHIBITED,
        "AI Act Art. 5(1)(e)",
        "Building facial recognition databases by untargeted scraping of images.",
    ),
    # Annex III — high risk
    Category(
        "public_benefits_eligibility",
        Risk.HIGH,
        "AI Act Annex III(5)(a)",
        "Evaluating eligibility for public assistance benefits and services, or granting and revoking them.",
    ),
    Category(
        "migration_asylum_border",
        Risk.HIGH,
        "AI Act Annex III(7)",
        "Examining applications for asylum, visas or residence permits, and related complaints.",
    ),
    Category(
        "employment_decisions",
        Risk.HIGH,
        "AI Act Annex III(4)",
        "Recruitment, promotion, termination or task allocation of workers, including civil servants.",
    ),
    Category(
        "education_access_assessment",
        Risk.HIGH,
        "AI Act Annex III(3)",
        "Admission to education, evaluating learning outcomes or monitoring students in tests.",
    ),
    Category(
        "law_enforcement_support",
        Risk.HIGH,
        "AI Act Annex III(6)",
        "Assisting law enforcement, e.g. assessing the reliability of evidence.",
    ),
    Category(
        "justice_administration",
        Risk.HIGH,
        "AI Act Annex III(8)(a)",
        "Assisting a judicial authority in researching and interpreting facts and the law.",
    ),
    Category(
        "emergency_call_triage",
        Risk.HIGH,
        "AI Act Annex III(5)(d)",
        "Evaluating and classifying emergency calls or dispatching emergency services.",
    ),
    # Art. 50 — transparency obligations (limited risk)
    Category(
        "citizen_information_assistant",
        Risk.LIMITED,
        "AI Act Art. 50(1)",
        "A chatbot answering citizens' questions from official information, disclosed as an AI.",
    ),
    Category(
        "content_generation",
        Risk.LIMITED,
        "AI Act Art. 50(2)",
        "Generating or editing text that may be published (drafts, summaries, translations).",
    ),
    # minimal risk
    Category(
        "internal_productivity",
        Risk.MINIMAL,
        "AI Act recital 165",
        "Internal drafting, coding or search assistance for staff, with no decision about people.",
    ),
    Category(
        "document_search",
        Risk.MINIMAL,
        "AI Act recital 165",
        "Search and retrieval over internal or public documents.",
    ),
)

CATEGORIES: dict[str, Category] = {c.id: c for c in _ALL}


def get(category_id: str) -> Category | None:
    """The category with this identifier, or None."""
    return CATEGORIES.get(category_id)
