"""Gateway overhead: latency added and highest sustained request rate of souverain versus LiteLLM's proxy.

One run starts a fast fake OpenAI upstream on loopback, then drives the same chat requests, non-streaming
and streaming, with the same closed-loop load generator (a separate process) at several concurrencies:
(a) directly at the fake, (b) through ``souverain serve``, (c) through LiteLLM's proxy, taking turns at
each load point; each gateway runs one worker, pinned to its own CPU. Latency p50/p99 at 1 and 8 concurrent
clients, the latency added over the direct one, and the best request rate with < 1 % errors over a
concurrency ramp.

Run: ``.venv/bin/python -m bench.gateway_overhead`` (about 5 minutes; ``--quick``: about 1 minute).
Results: ``bench/results/gateway_overhead.json`` and ``.md`` (``gateway_overhead_quick.*`` with --quick).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench import report, targets
from bench.procs import PYTHON, REPO, cpu_seconds
from bench.targets import Placement, Running

MODES = ("json", "stream")
PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "httpx", "pydantic", "orjson")
MAX_ERROR_RATE = 0.01


@dataclass(frozen=True)
class Plan:
    """How long each load point lasts and which concurrencies are measured."""

    duration: float
    warmup: float
    latency_points: tuple[int, ...]
    ramp_points: tuple[int, ...]

    @property
    def points(self) -> list[int]:
        return sorted({*self.latency_points, *self.ramp_points})


FULL = Plan(duration=8.0, warmup=1.5, latency_points=(1, 8), ramp_points=(32, 128))
QUICK = Plan(duration=2.0, warmup=0.5, latency_points=(1, 8), ramp_points=(32,))


def load_point(
    url: str, mode: str, concurrency: int, plan: Plan, cpus: set[int] | None, bearer: str = "sk-bench"
) -> dict[str, Any]:
    """Run the load generator once, in its own process, and return its result."""
    argv = [str(PYTHON), "-m", "bench.loadgen", "--url", url, "--model", targets.ALIAS, "--mode", mode]
    argv += ["--concurrency", str(concurrency), "--duration", str(plan.duration)]
    argv += ["--warmup", str(plan.warmup)]
    if cpus and shutil.which("taskset"):
        argv = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *argv]
    limit = plan.duration + plan.warmup + 30
    env = {**os.environ, "BENCH_BEARER": bearer}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=limit, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(running: list[Running], plan: Plan, placement: Placement) -> Iterator[dict[str, Any]]:
    """Every mode at every concurrency of the plan, the targets taking turns at each point.

    Taking turns (rather than one target after the other) spreads any change in the machine's load
    over all targets alike.
    """
    for mode in MODES:
        for concurrency in plan.points:
            for target in running:
                pid = target.server.pid if target.server is not None else None
                before = cpu_seconds(pid) if pid else 0.0
                point = load_point(target.url, mode, concurrency, plan, placement.others, target.bearer)
                used = cpu_seconds(pid) - before if pid else 0.0
                point["target"] = target.name
                point["server_cpu_ms_per_request"] = round(
                    1000 * used / max(1, point["completed_with_warmup"]), 3
                )
                print(
                    f"  {target.name:9} {mode:6} c={concurrency:<4} {point['rps']:>9.1f} req/s  "
                    f"p50 {point['p50_ms']:.3f} ms  p99 {point['p99_ms']:.3f} ms  errors {point['errors']}",
                    flush=True,
                )
                yield point


def _find(points: list[dict[str, Any]], target: str, mode: str, concurrency: int) -> dict[str, Any] | None:
    return next(
        (
            p
            for p in points
            if p["target"] == target and p["mode"] == mode and p["concurrency"] == concurrency
        ),
        None,
    )


def best_rate(points: list[dict[str, Any]], target: str, mode: str) -> dict[str, Any] | None:
    """The highest-rate point with fewer than 1 % errors."""
    ok = [
        p for p in points if p["target"] == target and p["mode"] == mode and p["error_rate"] < MAX_ERROR_RATE
    ]
    return max(ok, key=lambda p: p["rps"], default=None)


def latency_rows(points: list[dict[str, Any]], plan: Plan, names: list[str]) -> list[list[str]]:
    """Per target and mode: p50/p99 at each latency concurrency, and the added latency over direct."""
    rows = []
    for name in names:
        for mode in MODES:
            row = [name, mode]
            for c in plan.latency_points:
                point, direct = _find(points, name, mode, c), _find(points, "direct", mode, c)
                if point is None or direct is None:
                    row += ["n/a"] * 4
                    continue
                row += [report.fmt(point["p50_ms"], 3), report.fmt(point["p99_ms"], 3)]
                added = name != "direct"
                row.append(report.fmt(point["p50_ms"] - direct["p50_ms"], 3, True) if added else "—")
                row.append(report.fmt(point["p99_ms"] - direct["p99_ms"], 3, True) if added else "—")
            rows.append(row)
    return rows


def rate_rows(points: list[dict[str, Any]], names: list[str]) -> list[list[str]]:
    """Per target and mode: best sustained rate, where it was reached, and the ratio to LiteLLM's."""
    rows = []
    for name in names:
        for mode in MODES:
            best, litellm = best_rate(points, name, mode), best_rate(points, "litellm", mode)
            if best is None:
                rows.append([name, mode, "none < 1 % errors", "", "", "", ""])
                continue
            ratio = report.fmt(best["rps"] / litellm["rps"], 2) + "×" if litellm else "n/a"
            rows.append(
                [
                    name,
                    mode,
                    report.fmt(best["rps"], 0),
                    str(best["concurrency"]),
                    f"{best['error_rate'] * 100:.2f} %",
                    report.fmt(best["p50_ms"], 2),
                    ratio if name != "litellm" else "1.00×",
                ]
            )
    return rows


def cpu_rows(points: list[dict[str, Any]], plan: Plan, names: list[str]) -> list[list[str]]:
    """Per target and mode: CPU time its server process spent per request at each concurrency."""
    rows = []
    for name in names:
        for mode in MODES:
            row = [name, mode]
            for c in plan.points:
                point = _find(points, name, mode, c)
                row.append(report.fmt(point.get("server_cpu_ms_per_request") if point else None, 2))
            rows.append(row)
    return rows


def markdown(result: dict[str, Any]) -> str:
    """The two result tables with the command, date, machine and versions that produced them."""
    given = result["plan"]
    plan = Plan(
        given["duration"], given["warmup"], tuple(given["latency_points"]), tuple(given["ramp_points"])
    )
    points, names = result["points"], result["targets"]
    lat_headers = ["target", "mode"]
    for c in plan.latency_points:
        lat_headers += [f"p50 c={c}", f"p99 c={c}", f"added p50 c={c}", f"added p99 c={c}"]
    rate_headers = [
        "target",
        "mode",
        "best req/s",
        "at concurrency",
        "errors",
        "p50 there (ms)",
        "vs LiteLLM",
    ]
    lines = [*report.environment_lines(result["meta"]), ""]
    lines += ["Latency in milliseconds (closed loop; added = target minus direct):", ""]
    lines += [report.table(lat_headers, latency_rows(points, plan, names)), ""]
    ramp = ", ".join(map(str, plan.points))
    lines += [f"Highest sustained request rate with < 1 % errors (concurrency ramp {ramp}):", ""]
    lines += [report.table(rate_headers, rate_rows(points, names)), ""]
    lines += ["CPU time of the server process per request, in ms (user + system; direct: the fake):", ""]
    cpu_headers = ["target", "mode", *(f"c={c}" for c in plan.points)]
    lines += [report.table(cpu_headers, cpu_rows(points, plan, names)), ""]
    return "\n".join(lines)


def _targets(
    names: list[str],
) -> dict[str, Callable[[Path, Placement, str], AbstractContextManager[Running]]]:
    chosen = {
        "souverain": targets.souverain,
        "souverain+keys": targets.souverain_keys,
        "souverain+redis": targets.souverain_redis,
        "litellm": targets.litellm,
    }
    return {n: chosen[n] for n in names if n in chosen}


def run(
    plan: Plan, names: list[str], placement: Placement, log_dir: Path, info: dict[str, dict[str, str]]
) -> Iterator[dict[str, Any]]:
    """Start the fake and every gateway (idle ones cost nothing), then yield every load point.

    ``info`` receives what each target reports about itself (start-up time, versions).
    """
    with ExitStack() as stack:
        fake = stack.enter_context(targets.fake_upstream(log_dir, placement))
        upstream_base = fake.url.removesuffix("/chat/completions")
        print(f"fake upstream on {upstream_base}", flush=True)
        running = [fake]
        for name, start in _targets(names).items():
            gateway = stack.enter_context(start(log_dir, placement, upstream_base))
            print(f"{name} ready in {gateway.startup_s:.1f} s", flush=True)
            info[name] = {**gateway.info, "startup_s": f"{gateway.startup_s:.1f}"}
            running.append(gateway)
        yield from measure(running, plan, placement)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smoke run, about one minute.")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["souverain", "souverain+keys", "souverain+redis", "litellm"],
    )
    parser.add_argument("--no-pin", action="store_true", help="Do not pin processes to CPUs.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    plan = QUICK if args.quick else FULL
    candidates = ("souverain", "souverain+keys", "souverain+redis", "litellm")
    names = ["direct", *(n for n in candidates if n not in args.skip)]
    placement = Placement() if args.no_pin else Placement.pinned()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="souverain-bench-") as tmp:
        info: dict[str, dict[str, str]] = {}
        points = list(run(plan, names, placement, Path(tmp), info))
    extra = {k: v for details in info.values() for k, v in details.items() if k.startswith("litellm-env")}
    result: dict[str, Any] = {
        "meta": report.run_meta(
            "bench.gateway_overhead",
            argv,
            PACKAGES,
            load_before,
            extra_versions=extra,
            placement=placement.describe(),
            startup_s={n: details["startup_s"] for n, details in info.items()},
            wall_s=round(time.monotonic() - started, 1),
        ),
        "plan": plan.__dict__,
        "targets": names,
        "points": points,
    }
    name = "gateway_overhead_quick" if args.quick else "gateway_overhead"
    path = report.write_json(name, result)
    text = markdown(result)
    (path.with_suffix(".md")).write_text(text)
    print(f"\n{text}\nwritten: {path} and {path.with_suffix('.md')} ({result['meta']['wall_s']} s)")


if __name__ == "__main__":
    main()
