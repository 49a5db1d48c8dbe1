"""Knowledge base: collections of official documents, ingestion, and hybrid multilingual retrieval."""
