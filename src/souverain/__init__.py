"""souverain."""
