"""The person-name model: an averaged-perceptron sequence tagger (tags O, B, I) over word features.

Chosen after measuring the candidates that install offline from PyPI (see docs/benchmarks.md, Privacy): the
spaCy French model tags capitalised German nouns as names and is 5-10x slower; this tagger, trained by
``bench/privacy_train.py`` on French and German NER data plus a name gazetteer, is pure Python, runs in a few
milliseconds per message and ships as one compressed JSON file inside the package. The feature function is
shared by training and inference, so the two cannot drift apart.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

TAGS = ("O", "B", "I")
MODEL_FILE = "person_model.json.gz"
_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")
_UPPER = re.compile(r"[A-ZÀ-ÖØ-Þ]")
_LOWER = re.compile(r"[a-zß-öø-ÿ]")
_DIGIT = re.compile(r"\d")
_REPEAT = re.compile(r"(.)\1{2,}")


def tokenize(text: str) -> list[tuple[int, int]]:
    """Word and punctuation token spans, as the tagger sees them."""
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text)]


def shape(word: str) -> str:
    """Xxxx-style shape of a word, runs longer than two collapsed."""
    s = _DIGIT.sub("d", _LOWER.sub("x", _UPPER.sub("X", word)))
    return _REPEAT.sub(r"\1\1", s)


def is_candidate(word: str, previous_tag: str) -> bool:
    """Whether the tagger scores this token: names start with a capital, so a lower-case word outside a
    name is O without scoring (this skips most tokens and is applied identically in training)."""
    return previous_tag != "O" or word[:1].isupper()


def features(words: list[str], i: int, prev: str, prev2: str, gazetteer: dict[str, str]) -> list[str]:
    """The features of token ``i`` given the two previous tags (gazetteer: word -> f, l or fl)."""
    w = words[i]
    lw = w.lower()
    n = len(words)
    lm1 = words[i - 1].lower() if i > 0 else "<s>"
    lp1 = words[i + 1].lower() if i + 1 < n else "</s>"
    lm2 = words[i - 2].lower() if i > 1 else "<s>"
    lp2 = words[i + 2].lower() if i + 2 < n else "</s>"
    sh = shape(w)
    shm1 = shape(words[i - 1]) if i > 0 else "<s>"
    shp1 = shape(words[i + 1]) if i + 1 < n else "</s>"
    return [
        "b",
        "w=" + lw,
        "s=" + sh,
        "s3=" + lw[-3:],
        "s2=" + lw[-2:],
        "p3=" + lw[:3],
        "w-1=" + lm1,
        "w+1=" + lp1,
        "w-2=" + lm2,
        "w+2=" + lp2,
        "sh-1=" + shm1,
        "sh+1=" + shp1,
        "t-1=" + prev,
        "t-2=" + prev + prev2,
        "t-1s=" + prev + sh,
        "shc=" + shm1 + sh + shp1,
        "first" if i == 0 else "nf",
        "w-1w=" + lm1 + "|" + lw,
        "ww+1=" + lw + "|" + lp1,
        "g=" + gazetteer.get(lw, "-") + "|" + gazetteer.get(lm1, "-") + "|" + gazetteer.get(lp1, "-"),
        "gt=" + prev + gazetteer.get(lw, "-") + sh,
    ]


@dataclass(frozen=True)
class PersonTagger:
    """A trained model: feature weights per tag, the name gazetteer (lower-cased word -> f for a first
    name, l for a last name, fl for both) and the decision margin."""

    weights: dict[str, list[float]]
    gazetteer: dict[str, str]
    margin: float = 0.0

    @classmethod
    def load(cls, path: Path | None = None) -> PersonTagger:
        """Load the model shipped in the package (or the file at ``path``)."""
        if path is None:
            raw = resources.files("souverain.privacy.weights").joinpath(MODEL_FILE).read_bytes()
        else:
            raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw))
        return cls(data["weights"], data["gazetteer"], float(data.get("margin", 0.0)))

    def scores(self, feats: list[str]) -> list[float]:
        """Summed weights of the three tags."""
        total = [0.0, 0.0, 0.0]
        for f in feats:
            w = self.weights.get(f)
            if w is not None:
                total[0] += w[0]
                total[1] += w[1]
                total[2] += w[2]
        return total

    def tag(self, words: list[str]) -> list[tuple[str, float]]:
        """Greedy left-to-right tags with a confidence in [0.5, 1) for the chosen name tags."""
        out: list[tuple[str, float]] = []
        prev = prev2 = "<s>"
        for i, word in enumerate(words):
            tag, confidence = "O", 1.0
            if is_candidate(word, prev if prev != "<s>" else "O"):
                s = self.scores(features(words, i, prev, prev2, self.gazetteer))
                s[0] -= self.margin  # a positive margin trades precision for recall
                best = max(range(3), key=lambda k: (s[k], -k))
                tag = TAGS[best]
                if tag != "O":
                    confidence = 1.0 / (1.0 + math.exp(-(s[best] - s[0])))
            out.append((tag, confidence))
            prev2, prev = prev, tag
        return out

    def spans(self, text: str) -> list[tuple[int, int, float]]:
        """Character spans of person names in ``text`` with their mean token confidence.

        A name never crosses a line break (a signature line followed by a company line), and punctuation
        at either edge of a span is left out.
        """
        tokens = tokenize(text)
        tagged = self.tag([text[s:e] for s, e in tokens])
        result: list[tuple[int, int, float]] = []
        current: list[tuple[int, float]] = []
        for index, (tag, confidence) in enumerate(tagged):
            if current and (tag != "I" or "\n" in text[tokens[current[-1][0]][1] : tokens[index][0]]):
                result.extend(_trimmed(text, tokens, current))
                current = []
            if tag != "O":
                current.append((index, confidence))
        if current:
            result.extend(_trimmed(text, tokens, current))
        return result


def _trimmed(
    text: str, tokens: list[tuple[int, int]], current: list[tuple[int, float]]
) -> list[tuple[int, int, float]]:
    """The span of the tagged tokens without leading or trailing punctuation, if anything is left."""
    if not any(text[tokens[i][0]].isalnum() for i, _ in current):
        return []
    first = next(k for k, (i, _) in enumerate(current) if text[tokens[i][0]].isalnum())
    last = max(k for k, (i, _) in enumerate(current) if text[tokens[i][0]].isalnum())
    kept = current[first : last + 1]
    score = sum(c for _, c in kept) / len(kept)
    return [(tokens[kept[0][0]][0], tokens[kept[-1][0]][1], score)]
