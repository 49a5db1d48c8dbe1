"""Bilingual glossaries shipped with the knowledge base (``SOURCE.md`` says where each comes from)."""
