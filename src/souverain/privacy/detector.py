"""The personal-data detector: runs every recognizer on a text, resolves overlaps, and fails closed.

``Detector.analyze`` either returns the entities or raises ``DetectionError`` (a recognizer failed, or the
time budget ran out); it never returns a partial result, so the pipeline can refuse the request instead of
passing unprotected text on. One instance is built at start-up (the name model is loaded once, in the
constructor) and shared by all threads: recognizers keep no per-call state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from souverain.errors import DetectionError
from souverain.privacy.entities import Entity
from souverain.privacy.recognizers import Recognizer
from souverain.privacy.recognizers.address import AddressRecognizer
from souverain.privacy.recognizers.contact import EmailRecognizer, IpAddressRecognizer, PhoneRecognizer
from souverain.privacy.recognizers.contextual import DateOfBirthRecognizer, LicensePlateRecognizer
from souverain.privacy.recognizers.identifiers import IdentifierRecognizer
from souverain.privacy.recognizers.person import PersonRecognizer
from souverain.privacy.resolve import resolve

logger = logging.getLogger(__name__)

LANGUAGES = frozenset({"fr", "de", "en", "lb"})


def default_recognizers() -> list[Recognizer]:
    """Every built-in recognizer; loads the person-name model."""
    return [
        IdentifierRecognizer(),
        EmailRecognizer(),
        IpAddressRecognizer(),
        PhoneRecognizer(),
        AddressRecognizer(),
        LicensePlateRecognizer(),
        DateOfBirthRecognizer(),
        PersonRecognizer(),
    ]


class Detector:
    """Finds personal data in text; thread-safe once constructed."""

    def __init__(self, recognizers: Sequence[Recognizer] | None = None, *, deadline_s: float | None = None):
        self._recognizers = list(recognizers) if recognizers is not None else default_recognizers()
        self._deadline_s = deadline_s

    def analyze(
        self, text: str, language: str | None = None, *, deadline_s: float | None = None
    ) -> list[Entity]:
        """Non-overlapping entities in text order.

        Raises ``DetectionError`` when a recognizer fails or detection takes longer than ``deadline_s``
        (default: the constructor's; None means no budget).
        """
        budget = deadline_s if deadline_s is not None else self._deadline_s
        started = time.monotonic()
        hint = language if language in LANGUAGES else None
        candidates: list[Entity] = []
        for recognizer in self._recognizers:
            self._check_budget(started, budget)
            try:
                candidates.extend(recognizer.find(text, hint))
            except Exception as exc:  # any recognizer failure must refuse the request, never pass text on
                logger.error("recognizer %s failed: %s", type(recognizer).__name__, type(exc).__name__)
                raise DetectionError("personal-data detection failed", code="pii_detection_failed") from exc
        entities = resolve(candidates)
        self._check_budget(started, budget)
        return entities

    @staticmethod
    def _check_budget(started: float, budget: float | None) -> None:
        if budget is not None and time.monotonic() - started > budget:
            raise DetectionError(
                f"personal-data detection exceeded its time budget of {budget * 1000:.0f} ms",
                code="pii_detection_timeout",
            )
