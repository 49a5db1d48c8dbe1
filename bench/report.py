"""Benchmark bookkeeping: machine and versions of a measurement, JSON results, Markdown tables."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.procs import REPO

RESULTS = REPO / "bench" / "results"
BUSY_LOAD = 0.5  # per CPU: above this 1-minute load average before a run, its figures are flagged


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux: the platform string below is all we have
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0.0
    return round(pages / 2**30, 1)


def _git_commit() -> str:
    result = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return result.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    """CPU count and model, memory, accelerators (none here)."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "accelerator": "none (CPU only)",
        "os": platform.platform(),
    }


def versions(packages: Sequence[str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Python, souverain's commit and the given packages' installed versions."""
    found = {"python": platform.python_version(), "souverain": _git_commit()}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    if found.get("xllamacpp", "not installed") != "not installed":
        from souverain.backends.embedded import engine_build

        found["xllamacpp"] += f" ({engine_build()})"
    return {**found, **(extra or {})}


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that reruns this benchmark with the same arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    # a key given on the command line is a secret: the published command names it, never shows it
    shown = ["$SOUVERAIN_API_KEY" if i and args[i - 1] == "--key" else a for i, a in enumerate(args)]
    shown = [re.sub(r"souv_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]+", "$SOUVERAIN_API_KEY", a) for a in shown]
    return " ".join([".venv/bin/python", "-m", module, *shown])


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    return [round(x, 2) for x in os.getloadavg()]


def now_utc() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def run_meta(
    module: str,
    argv: Sequence[str] | None,
    packages: Sequence[str],
    load_before: list[float],
    *,
    extra_versions: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The metadata every result carries: the command that reruns it, date, machine, versions,
    load before and after (and ``extra`` keys)."""
    return {
        "command": command_line(module, argv),
        "date": now_utc(),
        "machine": machine(),
        "versions": versions(packages, extra_versions),
        "load_before": load_before,
        "load_after": load_average(),
        **extra,
    }


def write_json(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` atomically (through a .tmp file)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"{name}.json"
    partial = target.with_suffix(".json.tmp")
    partial.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    partial.replace(target)
    return target


def fmt(value: float | None, digits: int = 2, signed: bool = False) -> str:
    """A number for a table; ``n/a`` when missing."""
    if value is None or value != value:  # NaN is the only value not equal to itself
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def environment_lines(meta: dict[str, Any]) -> list[str]:
    """The header lines every result table carries: command, date, machine, versions."""
    m = meta["machine"]
    versions_text = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return [
        f"- Command: `{meta['command']}`",
        f"- Date: {meta['date']}",
        f"- Machine: {m['cpus']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, {m['accelerator']}",
        f"- Versions: {versions_text}",
        f"- Load average (1/5/15 min) before: {meta.get('load_before')}, after: {meta.get('load_after')}",
        *busy_warning(meta.get("load_before"), m["cpus"]),
    ]


def busy_warning(load_before: list[float] | None, cpus: int | None) -> list[str]:
    """A warning line when other work kept the machine busy before the run started."""
    if not load_before or load_before[0] <= BUSY_LOAD * (cpus or 1):
        return []
    return [
        f"- **Warning: the machine was busy with other work when the run started (load "
        f"{load_before[0]} on {cpus} CPUs); the figures are lower and noisier than on a quiet machine.**"
    ]
