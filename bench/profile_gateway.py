"""Where souverain's time goes on the proxy hot path: a py-spy sampling profile under load.

Starts the fake upstream and ``souverain serve`` as the gateway benchmark does, drives them with the load
generator (non-streaming, then streaming), samples every thread of the server with py-spy (installed
by this script, pinned, in ``bench/.venv-profile``, never in the project's environment) and reports the
server's CPU use, the share of samples on worker threads, the functions with the most self time, the
souverain functions with the most inclusive time, and self time by package.

Run: ``.venv/bin/python -m bench.profile_gateway`` (about 1 minute; ``--quick``: about 30 s).
Results: ``bench/results/gateway_profile.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench import report, targets
from bench.procs import PYTHON, REPO, cpu_seconds

PY_SPY_VERSION = "0.4.3"
VENV = REPO / "bench" / ".venv-profile"
CONCURRENCY = 8
RATE_HZ = 250
# Leaf frames where a thread waits rather than computes (event loop in epoll, idle pool threads).
IDLE_LEAVES = ("Runner.run (", "_worker (concurrent/futures/thread.py", "Condition.wait (", "select (")
PACKAGES: tuple[str, ...] = (
    "souverain",
    "starlette",
    "fastapi",
    "uvicorn",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "pydantic",
)
PACKAGES += ("sqlalchemy", "orjson", "asyncio", "threading", "concurrent", "uuid", "logging", "json")


def ensure_py_spy() -> Path:
    """py-spy at the pinned version in its own environment."""
    binary = VENV / "bin" / "py-spy"
    probe = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0 or PY_SPY_VERSION not in probe.stdout:
        print(f"installing py-spy=={PY_SPY_VERSION} in {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", f"py-spy=={PY_SPY_VERSION}"], check=True)
    return binary


def sample(py_spy: Path, pid: int, url: str, mode: str, seconds: float, out: Path) -> dict[str, Any]:
    """Load the server in ``mode`` and sample it for ``seconds``; returns load and CPU figures."""
    argv = [str(PYTHON), "-m", "bench.loadgen", "--url", url, "--model", targets.ALIAS, "--mode", mode]
    argv += ["--concurrency", str(CONCURRENCY), "--duration", str(seconds + 1), "--warmup", "1"]
    load = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=REPO)
    time.sleep(1.0)
    before = cpu_seconds(pid)
    record = [str(py_spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", str(RATE_HZ)]
    # --nonblocking: the server is not paused while sampled (sampling at this rate would slow it down).
    # Samples are of every thread not idle, so a thread waiting for the GIL counts as busy where it
    # waits (often just after a system call); --gil with --nonblocking gives truncated stacks.
    record += ["-f", "raw", "-o", str(out), "--nonblocking"]
    subprocess.run(record, capture_output=True, check=True, timeout=seconds + 30)
    cpu = cpu_seconds(pid) - before
    stdout, _ = load.communicate(timeout=seconds + 30)
    result: dict[str, Any] = {"mode": mode, "concurrency": CONCURRENCY, "server_cpu_share": cpu / seconds}
    result["load"] = orjson.loads(stdout.strip().splitlines()[-1])
    return result


def _function(frame: str) -> str:
    """``func (path/file.py:line)`` without the line number, so samples of one function add up."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def _package(frame: str) -> str:
    where = frame.partition(" (")[2]
    for package in PACKAGES:
        if where.startswith((f"{package}/", f"{package}.")):
            return package
    return "other"


def analyse(raw: Path, top: int = 15) -> dict[str, Any]:
    """Self time, souverain inclusive time and per-package self time from py-spy's collapsed stacks."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = workers = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = stack.split(";"), int(count)
        total += n
        if frames[-1].startswith(IDLE_LEAVES):
            idle += n
            continue
        if frames[0].startswith("Thread._bootstrap ("):  # a worker thread, not the event loop
            workers += n
        self_time[_function(frames[-1])] += n
        packages[_package(frames[-1])] += n
        for function in {_function(f) for f in frames if "souverain/" in f}:
            inclusive[function] += n
    busy = max(1, total - idle)

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / busy, 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "busy_samples": busy,
        "worker_thread_share": round(100 * workers / busy, 1),
        "self": share(self_time),
        "souverain_inclusive": share(inclusive),
        "packages": share(packages),
    }


def markdown(result: dict[str, Any]) -> str:
    """The profile as Markdown: per mode, CPU use and the three top lists (shares of busy samples)."""
    lines = [*report.environment_lines(result["meta"]), ""]
    for entry in result["modes"]:
        load, prof = entry["load"], entry["profile"]
        lines += [
            f"**{entry['mode']}**, {entry['concurrency']} clients: {load['rps']:.0f} req/s, "
            f"p50 {load['p50_ms']:.2f} ms; server CPU {100 * entry['server_cpu_share']:.0f} % of one core; "
            f"{prof['busy_samples']} busy samples of {prof['samples']}, {prof['worker_thread_share']:.0f} % "
            "of them on worker threads.",
            "",
        ]
        for title, key in (
            ("self time", "self"),
            ("souverain inclusive", "souverain_inclusive"),
            ("self by package", "packages"),
        ):
            rows = [[name.replace("|", "/"), f"{pct:.1f} %"] for name, pct in prof[key]]
            lines += [report.table([f"{title} (function)", "share of busy samples"], rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Shorter samples.")
    args = parser.parse_args(argv)
    load_before = report.load_average()
    seconds = 5.0 if args.quick else 15.0
    py_spy = ensure_py_spy()
    placement = targets.Placement.pinned()
    modes = []
    with tempfile.TemporaryDirectory(prefix="souverain-profile-") as tmp:
        log_dir = Path(tmp)
        with targets.fake_upstream(log_dir, placement) as fake:
            upstream = fake.url.removesuffix("/chat/completions")
            with targets.souverain(log_dir, placement, upstream) as gateway:
                assert gateway.server is not None
                for mode in ("json", "stream"):
                    raw = log_dir / f"{mode}.raw"
                    entry = sample(py_spy, gateway.server.pid, gateway.url, mode, seconds, raw)
                    entry["profile"] = analyse(raw)
                    modes.append(entry)
    meta = report.run_meta(
        "bench.profile_gateway",
        argv,
        ("fastapi", "starlette", "uvicorn", "httpx", "sqlalchemy"),
        load_before,
        py_spy=PY_SPY_VERSION,
    )
    result = {"meta": meta, "modes": modes}
    path = report.write_json("gateway_profile", result)
    text = markdown(result)
    path.with_suffix(".md").write_text(text)
    print(f"{text}\nwritten: {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
