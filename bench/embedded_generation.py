"""Embedded generation: tokens/s and time to first token through souverain versus xllamacpp called directly.

The same GGUF file (the bundled default model, assembled from its part-packages and sha256-verified), the
same prompts, ``max_tokens``, temperature 0, seed and 2 threads, in one run: (a) llama.cpp in this process
through ``xllamacpp.Server.handle_chat_completions`` with a streaming callback, (b) ``souverain serve`` with
its embedded backend, streamed over HTTP on loopback. Requests run one at a time, alternating between the
two so that any drift of the machine (other processes, heat) hits both alike.

Reported per path: time to first token (first non-empty content), decode rate ((completion tokens - 1) /
time from first to last token) and end-to-end rate (completion tokens / request time), medians over all
requests, and the ratio souverain / direct.

Run: ``.venv/bin/python -m bench.embedded_generation`` (about 3 minutes with the 1.5B model;
``--quick``: 0.5B model, shorter answers, about 1 minute). Needs the model's part-packages:
``uv sync --frozen --group dev --group model-test --group model-default``.
Results: ``bench/results/embedded_generation.json`` and ``.md`` (``embedded_generation_quick.*``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import orjson
import xllamacpp

from bench import report
from bench.procs import REPO, Server, check_loopback, free_port
from souverain import bundled

THREADS = 2
N_CTX = 8192
PARALLEL = 2
SEED = 42
DATA_DIR = REPO / "data" / "bench-embedded"  # gitignored; keeps the assembled GGUF between runs
ALIAS = "chat-bench"
PROMPTS = [
    "Explain step by step how a citizen renews an identity card, and which documents to bring.",
    "Expliquez en détail comment demander une aide au logement, étape par étape.",
    "Erklären Sie ausführlich, wie man einen Wohnsitz bei der Gemeinde anmeldet.",
]


@dataclass
class Generation:
    """One measured request."""

    path: str
    prompt: int
    repeat: int
    ttft_s: float
    total_s: float
    decode_s: float
    prompt_tokens: int
    completion_tokens: int
    text: str

    @property
    def decode_rate(self) -> float:
        return (self.completion_tokens - 1) / self.decode_s if self.decode_s > 0 else float("nan")

    @property
    def e2e_rate(self) -> float:
        return self.completion_tokens / self.total_s


def request_body(prompt: str, max_tokens: int, model: str) -> dict[str, Any]:
    """The chat request both paths receive."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": SEED,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


class Timeline:
    """Collects the arrival time of content and the usage from a stream of chunks."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first = self.last = 0.0
        self.parts: list[str] = []
        self.usage: dict[str, int] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        now = time.perf_counter()
        if "error" in chunk:
            raise RuntimeError(f"generation failed: {chunk['error']}")
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                self.first = self.first or now
                self.last = now
                self.parts.append(content)
        self.usage = chunk.get("usage") or self.usage

    def result(self, path: str, prompt: int, repeat: int) -> Generation:
        end = time.perf_counter()
        if not self.first or not self.usage:
            raise RuntimeError(f"{path}: the stream carried no content or no usage")
        return Generation(
            path=path,
            prompt=prompt,
            repeat=repeat,
            ttft_s=self.first - self.start,
            total_s=end - self.start,
            decode_s=self.last - self.first,
            prompt_tokens=int(self.usage.get("prompt_tokens", 0)),
            completion_tokens=int(self.usage.get("completion_tokens", 0)),
            text="".join(self.parts),
        )


def direct_engine(path: Path) -> Any:
    """xllamacpp's server on ``path`` with the parameters souverain's embedded backend uses."""
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = N_CTX
    params.n_parallel = PARALLEL
    params.kv_unified = False
    params.cpuparams.n_threads = THREADS
    params.cpuparams_batch.n_threads = THREADS
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.ui = False
    params.verbosity = 0
    return xllamacpp.Server(params)


def prompt_text(prompt: int, repeat: int) -> str:
    """The user message; the repeat number comes first so that no request reuses another's KV cache
    beyond the chat template's system part (which every request shares alike on both paths)."""
    return f"[{repeat}] {PROMPTS[prompt]}"


def run_direct(engine: Any, prompt: int, max_tokens: int, repeat: int) -> Generation:
    """One streamed generation through xllamacpp's callback, in this process."""
    timeline = Timeline()

    def on_chunk(chunk: object) -> bool:
        if isinstance(chunk, dict):
            timeline.add(chunk)
        return False  # False: keep generating

    body = request_body(prompt_text(prompt, repeat), max_tokens, "direct")
    engine.handle_chat_completions(body, on_chunk)
    return timeline.result("direct", prompt, repeat)


def run_http(client: httpx.Client, url: str, prompt: int, max_tokens: int, repeat: int) -> Generation:
    """One generation streamed over HTTP from souverain, parsed as server-sent events."""
    timeline = Timeline()
    body = request_body(prompt_text(prompt, repeat), max_tokens, ALIAS)
    with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"souverain answered {response.status_code}: {response.text[:500]}")
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                timeline.add(orjson.loads(line[6:]))
    return timeline.result("souverain", prompt, repeat)


def souverain_config(path: Path, port: int, model: str) -> Path:
    """A config with one embedded backend on the bundled model, 2 threads, no keys required."""
    path.write_text(
        f'data_dir = "{DATA_DIR}"\n\n[server]\nhost = "127.0.0.1"\nport = {port}\nlog_level = "WARNING"\n\n'
        "[governance]\nauth_required = false\n\n"
        f'[backends.embedded]\nkind = "embedded"\nbundled = "{model}"\n'
        f"threads = {THREADS}\nn_ctx = {N_CTX}\nparallel = {PARALLEL}\n\n"
        f'[[models]]\nname = "{ALIAS}"\nmax_output_tokens = 2048\n\n'
        '[[models.routes]]\nbackend = "embedded"\n'
    )
    return path


def summarize(runs: list[Generation]) -> dict[str, Any]:
    """Medians per path and the souverain / direct ratios."""
    if not runs:
        raise SystemExit("no request finished within the time limit; is the machine busy?")
    paths: dict[str, dict[str, float]] = {}
    for name in ("direct", "souverain"):
        mine = [g for g in runs if g.path == name]
        paths[name] = {
            "requests": len(mine),
            "ttft_ms": round(1000 * statistics.median(g.ttft_s for g in mine), 1),
            "decode_tok_s": round(statistics.median(g.decode_rate for g in mine), 2),
            "e2e_tok_s": round(statistics.median(g.e2e_rate for g in mine), 2),
            "completion_tokens": round(statistics.mean(g.completion_tokens for g in mine), 1),
            "prompt_tokens": round(statistics.mean(g.prompt_tokens for g in mine), 1),
        }
    d, s = paths["direct"], paths["souverain"]
    same = all(
        a.text == b.text
        for a in runs
        for b in runs
        if a.path == "direct" and b.path == "souverain" and (a.prompt, a.repeat) == (b.prompt, b.repeat)
    )
    ratios = {
        "decode": round(s["decode_tok_s"] / d["decode_tok_s"], 3),
        "e2e": round(s["e2e_tok_s"] / d["e2e_tok_s"], 3),
        "ttft_added_ms": round(s["ttft_ms"] - d["ttft_ms"], 1),
    }
    return {"paths": paths, "ratios": ratios, "identical_text": same}


def markdown(result: dict[str, Any]) -> str:
    """The result table with its command, date, machine and versions."""
    summary = result["summary"]
    rows = []
    for name, p in summary["paths"].items():
        rows.append(
            [
                name,
                str(p["requests"]),
                f"{p['prompt_tokens']:.0f}",
                f"{p['completion_tokens']:.0f}",
                report.fmt(p["ttft_ms"], 1),
                report.fmt(p["decode_tok_s"], 2),
                report.fmt(p["e2e_tok_s"], 2),
            ]
        )
    headers = ["path", "requests", "prompt tok", "completion tok", "TTFT p50 (ms)", "decode tok/s"]
    headers.append("end-to-end tok/s")
    r = summary["ratios"]
    plan = result["plan"]
    return "\n".join(
        [
            *report.environment_lines(result["meta"]),
            f"- Model: {plan['model']} (Q4_K_M GGUF), {THREADS} threads, n_ctx {N_CTX}, {PARALLEL} slots; "
            f"max_tokens {plan['max_tokens']}, temperature 0, seed {SEED}; {len(PROMPTS)} prompts × "
            f"{plan['repeats']} repeats per path planned, alternating, after one warm-up each (medians; "
            "the requests column says how many finished within the time limit).",
            "",
            report.table(headers, rows),
            "",
            f"souverain / direct: decode {r['decode']:.3f}×, end-to-end {r['e2e']:.3f}×, "
            f"time to first token {r['ttft_added_ms']:+.1f} ms; same text on both paths for every prompt "
            f"and repeat: {'yes' if summary['identical_text'] else 'no'}.",
            "",
        ]
    )


def measure(engine: Any, url: str, repeats: int, max_tokens: int, deadline: float) -> list[Generation]:
    """A warm-up on each path, then every prompt ``repeats`` times on each path, alternating.

    No new pair of requests starts after ``deadline`` (a ``time.monotonic`` value): on a machine busy
    with other work llama.cpp slows down by orders of magnitude, and a benchmark must end.
    """
    runs: list[Generation] = []
    with httpx.Client(timeout=httpx.Timeout(10.0, read=300.0), trust_env=False) as client:
        run_direct(engine, 0, 8, -1)
        run_http(client, url, 0, 8, -1)
        for repeat in range(repeats):
            for prompt in range(len(PROMPTS)):
                if time.monotonic() > deadline:
                    print("  time limit reached: stopping early", flush=True)
                    return runs
                order = ("direct", "souverain") if (repeat + prompt) % 2 == 0 else ("souverain", "direct")
                for path in order:
                    if path == "direct":
                        generation = run_direct(engine, prompt, max_tokens, repeat)
                    else:
                        generation = run_http(client, url, prompt, max_tokens, repeat)
                    runs.append(generation)
                    print(
                        f"  {generation.path:9} prompt {prompt}: ttft {1000 * generation.ttft_s:7.1f} ms, "
                        f"{generation.completion_tokens} tokens, decode {generation.decode_rate:6.2f} tok/s",
                        flush=True,
                    )
    return runs


def run_both(model: str, repeats: int, max_tokens: int, deadline: float) -> list[Generation]:
    """Verify the weights, start souverain on them, load them in this process too, and measure both."""
    print(f"assembling and verifying {model} in {DATA_DIR / 'models'}", flush=True)
    try:
        weights = bundled.assemble(bundled.get(model), DATA_DIR / "models")
    except bundled.ModelIntegrityError as exc:
        raise SystemExit(f"cannot benchmark {model}: {exc}") from None
    port = free_port()
    log_dir = DATA_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    config = souverain_config(log_dir / "souverain.toml", port, model)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUVERAIN_")}
    env["SOUVERAIN_CONFIG"] = str(config)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    check_loopback(url)
    argv_serve = [str(REPO / ".venv" / "bin" / "souverain"), "serve", "--port", str(port)]
    with Server("souverain-embedded", argv_serve, log_dir, env=env) as server:
        server.wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=300)
        engine = direct_engine(weights)
        runs = measure(engine, url, repeats, max_tokens, deadline)
        del engine  # frees the engine (its threads) before souverain is stopped
    return runs


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.5B model, short answers (~1 minute).")
    parser.add_argument("--model", help="Bundled model name (default: the 1.5B; --quick: the 0.5B).")
    parser.add_argument("--repeats", type=int, default=None, help="Requests per prompt and path.")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument(
        "--time-limit", type=float, default=900, help="Seconds after which no request starts."
    )
    args = parser.parse_args(argv)
    load_before = report.load_average()
    model = args.model or ("qwen2.5-coder-0.5b-instruct" if args.quick else "qwen2.5-coder-1.5b-instruct")
    repeats = args.repeats or (1 if args.quick else 2)
    max_tokens = args.max_tokens or (48 if args.quick else 128)
    started = time.monotonic()
    runs = run_both(model, repeats, max_tokens, started + args.time_limit)
    result: dict[str, Any] = {
        "meta": report.run_meta(
            "bench.embedded_generation",
            argv,
            ("xllamacpp", "uvicorn", "fastapi", "httpx"),
            load_before,
            wall_s=round(time.monotonic() - started, 1),
        ),
        "plan": {"model": model, "repeats": repeats, "max_tokens": max_tokens, "prompts": PROMPTS},
        "summary": summarize(runs),
        "runs": [{**asdict(g), "decode_rate": g.decode_rate, "e2e_rate": g.e2e_rate} for g in runs],
    }
    name = "embedded_generation_quick" if args.quick else "embedded_generation"
    path = report.write_json(name, result)
    text = markdown(result)
    path.with_suffix(".md").write_text(text)
    print(f"\n{text}\nwritten: {path} and {path.with_suffix('.md')} ({result['meta']['wall_s']} s)")


if __name__ == "__main__":
    main()
