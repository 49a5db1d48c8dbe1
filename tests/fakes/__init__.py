"""Fakes that implement real protocols for tests: an OpenAI-compatible server on loopback."""
