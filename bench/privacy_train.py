"""Train the person-name tagger shipped in ``src/souverain/privacy/weights/person_model.json.gz``.

Training data: the dev splits of WikiANN fr/de and GermEval 2014 (the test splits are kept for the
evaluation), plus synthetic sentences in en, fr, de and lb built from Faker's name lists with templates of
our own (not presidio's). The gazetteer feature uses Faker's first- and last-name lists (MIT). 10 % of the
data is held out to choose the decision margin that maximises F2 (recall weighs more than precision here).

Run: ``.venv/bin/python -m bench.privacy_train`` (about 10 minutes on the 2-core reference machine).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from collections import defaultdict
from pathlib import Path

from faker import Faker

from bench import privacy_data
from souverain.privacy.tagger import MODEL_FILE, TAGS, PersonTagger, features, is_candidate, tokenize

OUT = Path(__file__).resolve().parents[1] / "src" / "souverain" / "privacy" / "weights" / MODEL_FILE
NAME_LOCALES = ["fr_FR", "fr_BE", "fr_CH", "de_DE", "de_AT", "de_CH", "de_LU", "nl_BE", "nl_NL", "en_US",
                "en_GB", "en_IE", "it_IT", "pt_PT", "pt_BR", "es_ES", "pl_PL", "sv_SE", "fi_FI", "da_DK",
                "no_NO", "cs_CZ", "hu_HU", "ro_RO", "hr_HR", "et_EE", "lt_LT", "sk_SK", "sl_SI"]  # fmt: skip
# Our own templates (not presidio's): {p} a person; {c} a company, {t} a town, {k} a country, {s} a street,
# {j} a job title -- capitalised words that are not names, so the tagger learns to leave them alone.
TEMPLATES = {
    "en": ["Please contact {p} about the renewal.", "{p} asked whether the office in {t} is open on Monday.",
           "I spoke with {p} yesterday at the Ministry of Health.", "Yours sincerely,\n{p}",
           "The certificate was issued to {p} in {t}, {k}.", "Hello, this is {p} from {c}.",
           "{p} works as a {j} at {c} in {t}.", "Our new {j}, {p}, starts next week.",
           "Invoice for {p}\n{s}\n{t}\n{k}", "Name: {p}\nEmployer: {c}", "Meeting with {p} and {q} at {c}.",
           "Forwarded by {p} on behalf of {c}.", "{c} opened a branch in {t} last year.",
           "The {j} of {c} moved to {k}.", "Can {p} sign the form for {q}?",
           "Dear {p},\nthank you for your letter.",
           "Patient: {p}, referred by Dr. {q}.", "I think {p} already sent the documents.",
           "When I called, {p} was not there.", "What's the status of the request from {p}?",
           "Hi, I'm {p} and I live in {t}.", "Who approved the transfer to {c}?", "I have moved to {t}.",
           "Mr. {p} and Mrs. {q} visited the {c} headquarters.", "Ms. {p} is the new {j}.",
           "My brother lives in {k} and works for {c}.", "Is the {c} account still active?",
           "The Guardian reported that {p} will lead the {c} team.", "Thanks {p}, I will forward it to {q}.",
           "Address: {s}, {t}", "Personal info: {p}, {s}", "{p} ({j}, {c})", "Regards, {p}"],
    "fr": ["Je vous écris au nom de {p} pour le dossier.", "{p} a déposé sa demande à la commune de {t}.",
           "Le Ministère a transmis le courrier à {p}.", "Merci de rappeler {p} avant vendredi.",
           "Cordialement,\n{p}", "Mon voisin {p} habite à {t}.", "{p}, {j} chez {c}, a signé le contrat.",
           "La société {c} a ouvert un bureau à {t}.", "Rendez-vous avec {p} et {q} le 3 mars.",
           "Nom : {p}\nEmployeur : {c}", "Le {j} de {c} est parti en {k}."],
    "de": ["Ich schreibe im Auftrag von {p} wegen des Antrags.", "{p} hat den Antrag in {t} gestellt.",
           "Bitte rufen Sie {p} zurück.", "Mit freundlichen Grüßen\n{p}",
           "Die Gemeinde {t} hat {p} informiert.",
           "{p} arbeitet als {j} bei {c}.", "Die Firma {c} hat eine Filiale in {t} eröffnet.",
           "Termin mit {p} und {q} am Montag.", "Name: {p}\nArbeitgeber: {c}",
           "Der Antrag von {p} liegt vor.",
           "Mein Auto steht in {t}.", "Die Steuererklärung wurde an das Finanzamt geschickt.",
           "Meine Frau und ich wohnen in {t}.", "Herr {p} wohnt seit Jahren in {t}."],
    "lb": ["Ech schreiwen am Numm vum {p} wéinst dem Dossier.", "De {p} huet säin Dossier zu {t} ofginn.",
           "Kënnt Dir w.e.g. {p} uruffen?", "Mat beschte Gréiss,\n{p}", "D'Madamm {p} schafft bei {c}.",
           "Mäin Auto steet zu {t}.", "D'Gemeng huet de Bréif geschéckt.", "Meng Fra an ech wunnen zu {t}.",
           "Wéi vill kascht d'Carte d'identité?", "Den Här {p} wunnt zu {t}.", "D'Kanner ginn an d'Schoul."],
}  # fmt: skip

Example = tuple[list[str], list[str]]


def _example(text: str, spans: list[tuple[int, int, str]]) -> Example:
    tokens = tokenize(text)
    words, tags, prev_end = [], [], -1
    for start, end in tokens:
        hit = next((s for s in spans if s[0] < end and start < s[1]), None)
        tag = "O" if hit is None else ("I" if prev_end >= hit[0] and tags and tags[-1] != "O" else "B")
        words.append(text[start:end])
        tags.append(tag)
        prev_end = end if hit else -1
    return words, tags


def _synthetic(rng: random.Random, count: int) -> list[Example]:
    fakers = [Faker(loc) for loc in NAME_LOCALES]
    for i, fake in enumerate(fakers):
        fake.seed_instance(1000 + i)
    examples = []
    for _ in range(count):
        language = rng.choice(list(TEMPLATES))
        fake = rng.choice(fakers)
        values = {
            "p": rng.choice([f"{fake.first_name()} {fake.last_name()}", fake.last_name(), fake.first_name()]),
            "q": f"{fake.first_name()} {fake.last_name()}",
            "c": fake.company(),
            "t": fake.city(),
            "k": fake.country(),
            "s": fake.street_address(),
            "j": fake.job().split(",")[0],
        }
        text, spans = rng.choice(TEMPLATES[language]), []
        for key in ("p", "q", "c", "t", "k", "s", "j"):
            marker = "{" + key + "}"
            while marker in text:
                start = text.index(marker)
                text = text.replace(marker, values[key], 1)
                shift = len(values[key]) - len(marker)
                spans = [
                    (a + shift if a > start else a, b + shift if b > start else b, t) for a, b, t in spans
                ]
                if key in "pq":
                    spans.append((start, start + len(values[key]), "PERSON"))
        examples.append(_example(text, spans))
    return examples


def gazetteer() -> dict[str, str]:
    """Lower-cased first and last names from Faker's person providers: word -> f, l or fl."""
    names: dict[str, set[str]] = defaultdict(set)
    for locale in NAME_LOCALES:
        fake = Faker(locale)
        provider = next(p for p in fake.providers if hasattr(p, "first_names"))
        for attr, kind in (("first_names", "f"), ("first_names_male", "f"), ("first_names_female", "f"),
                           ("last_names", "l")):  # fmt: skip
            for name in getattr(provider, attr, ()) or ():
                for part in str(name).replace("-", " ").split():
                    if len(part) >= 3 and part.isalpha():
                        names[part.lower()].add(kind)
    return {word: "".join(sorted(kinds)) for word, kinds in names.items()}


class AveragedPerceptron:
    """Greedy tagger training with weight averaging (Collins 2002)."""

    def __init__(self, gaz: dict[str, str]) -> None:
        self.gaz = gaz
        self.w: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self.stamps: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.i = 0

    def _update(self, truth: int, guess: int, feats: list[str]) -> None:
        for f in feats:
            w, t, s = self.w[f], self.totals[f], self.stamps[f]
            for k, delta in ((truth, 1.0), (guess, -1.0)):
                t[k] += (self.i - s[k]) * w[k]
                s[k] = self.i
                w[k] += delta

    def epoch(self, examples: list[Example]) -> float:
        correct = seen = 0
        tagger = PersonTagger(self.w, self.gaz)
        for words, tags in examples:
            prev = prev2 = "<s>"
            for i, word in enumerate(words):
                if is_candidate(word, prev if prev != "<s>" else "O"):
                    self.i += 1
                    feats = features(words, i, prev, prev2, self.gaz)
                    scores = tagger.scores(feats)
                    guess = max(range(3), key=lambda k: (scores[k], -k))
                    truth = TAGS.index(tags[i])
                    if guess != truth:
                        self._update(truth, guess, feats)
                    correct += guess == truth
                    seen += 1
                prev2, prev = prev, tags[i]
        return correct / max(seen, 1)

    def averaged(self) -> dict[str, list[float]]:
        out = {}
        for f, w in self.w.items():
            t, s = self.totals[f], self.stamps[f]
            avg = [round((t[k] + (self.i - s[k]) * w[k]) / self.i, 3) for k in range(3)]
            if any(abs(v) >= 0.002 for v in avg):
                out[f] = avg
        return out


def _f2_at(tagger: PersonTagger, examples: list[Example]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for words, tags in examples:
        for (tag, _), gold in zip(tagger.tag(words), tags, strict=True):
            p, g = tag != "O", gold != "O"
            tp += p and g
            fp += p and not g
            fn += g and not p
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return 5 * precision * recall / max(4 * precision + recall, 1e-9), precision, recall


def main() -> None:
    """Train, choose the margin on held-out data, write the model file."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(20261128)
    samples = (
        privacy_data.wikiann("fr", "dev") + privacy_data.wikiann("de", "dev") + privacy_data.germeval("dev")
    )
    examples = [_example(s.text, s.spans) for s in samples] + _synthetic(rng, 12000)
    rng.shuffle(examples)
    held_out, train = examples[: len(examples) // 10], examples[len(examples) // 10 :]
    gaz = gazetteer()
    model = AveragedPerceptron(gaz)
    for epoch in range(args.epochs):
        started = time.perf_counter()
        rng.shuffle(train)
        accuracy = model.epoch(train)
        print(f"epoch {epoch}: accuracy {accuracy:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    weights = model.averaged()
    best = max(
        (
            (_f2_at(PersonTagger(weights, gaz, m), held_out), m)
            for m in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
        ),
        key=lambda item: item[0][0],
    )
    (f2, precision, recall), margin = best
    print(f"held-out: margin {margin} F2 {f2:.3f} P {precision:.3f} R {recall:.3f}; {len(weights)} features")
    payload = {"weights": weights, "gazetteer": dict(sorted(gaz.items())), "margin": margin}
    args.out.write_bytes(gzip.compress(json.dumps(payload, separators=(",", ":")).encode(), mtime=0))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
