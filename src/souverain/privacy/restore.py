"""Restoration: the output filter that puts the vault's values back where the model wrote placeholders.

Whole answers are rewritten at once. Streamed answers are rewritten delta by delta; a placeholder may be
split across deltas (``<PER`` + ``SON_1>``), so the filter holds back the trailing fragment that could
still become one of this vault's placeholders, and nothing else: ``<`` followed by text no placeholder
starts with, or a fragment longer than any placeholder, is sent at once. Placeholders the vault does not
know (the model invented ``<PERSON_9>``) are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from souverain.privacy.vault import PLACEHOLDER


class Restorer:
    """Replaces the placeholders of one vault by their values (an ``OutputFilter``)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        # every proper prefix of a known placeholder: the only tails worth holding back
        self._prefixes = {p[:i] for p in self._values for i in range(1, len(p))}
        self._held = ""

    def _replace(self, match: re.Match[str]) -> str:
        return self._values.get(match.group(0), match.group(0))

    def complete(self, text: str) -> str:
        """The whole answer with known placeholders replaced."""
        return PLACEHOLDER.sub(self._replace, text)

    def feed(self, delta: str) -> str:
        """Restored text that can be sent now; a possible placeholder start is kept for the next delta."""
        text = self._held + delta
        cut = text.rfind("<")
        # placeholders contain a single "<", so only the tail from the last one can be an unfinished one
        if cut != -1 and text[cut:] in self._prefixes:
            self._held, text = text[cut:], text[:cut]
        else:
            self._held = ""
        return self.complete(text)

    def flush(self) -> str:
        """The held fragment, unchanged, when the stream ends."""
        held, self._held = self._held, ""
        return held

    @property
    def held(self) -> str:
        """What is currently held back (for tests and diagnostics; it is never personal data)."""
        return self._held
