"""Demo corpora: official pages converted into the JSON-lines records that ``souverain ingest`` reads."""
