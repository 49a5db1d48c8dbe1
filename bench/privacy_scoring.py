"""Scoring of detected entities against gold spans: token-level precision, recall and F2 per type (as
presidio-research does), and the leak rate (share of personal-data characters left uncovered)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.privacy_data import Sample
from souverain.privacy.tagger import tokenize

Span = tuple[int, int, str]


@dataclass
class Counts:
    """Token counts per type, and gold characters covered or not."""

    tp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fn: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gold_chars: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    leaked_chars: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(
        self, sample: Sample, predicted: Sequence[Span], only: str | None, ignored: Sequence[Span]
    ) -> None:
        """Count one sample; ``only`` restricts to one type, ``ignored`` spans count for nothing."""
        predicted = [p for p in predicted if only is None or p[2] == only]
        for start, end in tokenize(sample.text):
            if any(a < end and start < b for a, b, _ in ignored):
                continue
            gold = next((t for a, b, t in sample.spans if a < end and start < b), "O")
            pred = next((t for a, b, t in predicted if a < end and start < b), "O")
            self._token(gold, pred)
        for a, b, kind in sample.spans:
            for i in range(a, b):
                if sample.text[i].isspace():
                    continue
                self.gold_chars[kind] += 1
                if not any(pa <= i < pb for pa, pb, _ in predicted):
                    self.leaked_chars[kind] += 1

    def _token(self, gold: str, pred: str) -> None:
        if gold == pred and gold != "O":
            self.tp[gold] += 1
        else:
            if pred != "O":
                self.fp[pred] += 1
            if gold != "O":
                self.fn[gold] += 1
        # Type-agnostic "PII" row: any personal-data token detected as any type.
        if gold != "O" and pred != "O":
            self.tp["PII"] += 1
        elif pred != "O":
            self.fp["PII"] += 1
        elif gold != "O":
            self.fn["PII"] += 1

    def report(self) -> dict[str, dict[str, float | int]]:
        """Per type (and PII, all types together): precision, recall, F2, leak rate, support."""
        rows: dict[str, dict[str, float | int]] = {}
        kinds = sorted(set(self.tp) | set(self.fn) | set(self.fp) | set(self.gold_chars))
        for kind in kinds:
            tp, fp, fn = self.tp[kind], self.fp[kind], self.fn[kind]
            precision = tp / (tp + fp) if tp + fp else float("nan")
            recall = tp / (tp + fn) if tp + fn else float("nan")
            f2 = 5 * precision * recall / (4 * precision + recall) if tp else 0.0
            if kind == "PII":
                gold, leaked = sum(self.gold_chars.values()), sum(self.leaked_chars.values())
            else:
                gold, leaked = self.gold_chars[kind], self.leaked_chars[kind]
            rows[kind] = {
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f2": round(f2, 4),
                "leak_rate": round(leaked / gold, 4) if gold else float("nan"),
                "support_tokens": tp + fn,
            }
        return rows


def score(
    samples: Sequence[Sample],
    predictions: Iterable[Sequence[Span]],
    only: str | None = None,
    ignored: Sequence[Sequence[Span]] | None = None,
) -> dict[str, dict[str, float | int]]:
    """Score predictions aligned with samples."""
    counts = Counts()
    for index, (sample, predicted) in enumerate(zip(samples, predictions, strict=True)):
        counts.add(sample, predicted, only, ignored[index] if ignored else [])
    return counts.report()
