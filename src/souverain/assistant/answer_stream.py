"""A streamed answer, checked as it flows: citations rewritten as they close, the refusal marker never shown.

Text that may still become a citation (``[1`` …, with the spaces before it) or the refusal marker
(``NO_AN`` …) is held back until the next delta decides. With ``hold_until_cited`` nothing is released
before the first valid citation, so an answer that never cites a source is never shown (the caller then
sends the refusal instead).
"""

from __future__ import annotations

import re

from souverain.assistant.citations import numbers, rewrite
from souverain.assistant.prompt import NO_ANSWER

_OPEN_CITATION = re.compile(r"\[[\w\s,;]{0,20}$")
_MARKER = re.compile(re.escape(NO_ANSWER), re.IGNORECASE)


def holdback(buffer: str) -> int:
    """Where the undecided tail of ``buffer`` starts (``len(buffer)`` when nothing must wait)."""
    cut = len(buffer)
    bracket = buffer.rfind("[")
    if bracket >= 0 and _OPEN_CITATION.match(buffer, bracket):
        cut = bracket
    upper = buffer.upper()
    for size in range(min(len(NO_ANSWER) - 1, len(buffer)), 0, -1):
        if upper.endswith(NO_ANSWER[:size]):
            cut = min(cut, len(buffer) - size)
            break
    # the spaces before a citation go with it if it is dropped: hold them until it is decided
    while cut > 0 and buffer[cut - 1] in " \t":
        cut -= 1
    return cut


class AnswerFilter:
    """Feed it the model's deltas; it returns what may be shown now, and keeps the checked text."""

    def __init__(self, sources: int, hold_until_cited: bool = False) -> None:
        self.sources = sources
        self.hold_until_cited = hold_until_cited
        self.text = ""  # everything checked so far (shown or held)
        self.shown = ""  # what was released to the client
        self.refused = False  # the model wrote the refusal marker
        self.dropped = 0  # invalid citations removed
        self._pending = ""
        self._cited = False

    def feed(self, delta: str) -> str:
        """The part of what was received so far that can be shown now."""
        buffer = self._pending + delta
        cut = holdback(buffer)
        self._pending = buffer[cut:]
        return self._release(self._check(buffer[:cut]))

    def flush(self) -> str:
        """What is still held at the end of the stream (nothing, if holding and never cited)."""
        ready, self._pending = self._pending, ""
        return self._release(self._check(ready))

    def _check(self, ready: str) -> str:
        if _MARKER.search(ready):
            self.refused = True
            ready = _MARKER.sub("", ready)
        checked, dropped = rewrite(ready, self.sources)
        self.dropped += dropped
        self.text += checked
        self._cited = self._cited or bool(numbers(checked))
        return checked

    def _release(self, checked: str) -> str:
        if self.hold_until_cited and not self._cited:
            return ""
        out = self.text[len(self.shown) :]
        self.shown = self.text
        return out
