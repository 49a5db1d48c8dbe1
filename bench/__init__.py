"""Benchmarks of souverain (targets, not tests): gateway overhead and embedded generation speed."""
