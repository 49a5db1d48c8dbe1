"""LiteLLM's proxy as a comparison target: its own virtual environment, its config, its command line.

LiteLLM is installed by the benchmark itself, with pip, at a pinned version, in ``bench/.venv-litellm``
(gitignored), never in the project's environment. The pin is 1.82.6, the last release published before
the March 2026 PyPI account compromise (1.82.7 and 1.82.8 carried a credential stealer; later releases were
withdrawn again in October 2026); after installing, the environment is checked for the known malicious
``litellm_init.pth`` start-up hook.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.procs import REPO

LITELLM_VERSION = "1.82.6"
# litellm[proxy] brings uvloop but not httptools, so its uvicorn would parse HTTP with the pure-Python h11;
# the same httptools as souverain's makes the comparison about the gateways, not about the parser.
HTTPTOOLS_VERSION = "0.9.0"
REQUIREMENTS = (f"litellm[proxy]=={LITELLM_VERSION}", f"httptools=={HTTPTOOLS_VERSION}")
VENV = REPO / "bench" / ".venv-litellm"
# Environment for the proxy: no network fetch of the model price map, no telemetry, quiet logs.
ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "LITELLM_MODE": "PRODUCTION",
    "DISABLE_SCHEMA_UPDATE": "True",
}


def installed_version(package: str = "litellm") -> str | None:
    """A package's version in the bench environment, or None when it is not installed."""
    python = VENV / "bin" / "python"
    if not python.exists():
        return None
    probe = f"import importlib.metadata as m; print(m.version({package!r}))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_installed() -> dict[str, str]:
    """Install the pinned requirements unless present; the versions that matter for the comparison."""
    wanted = installed_version() == LITELLM_VERSION and installed_version("httptools") == HTTPTOOLS_VERSION
    if not wanted:
        print(f"installing {' '.join(REQUIREMENTS)} in {VENV} (once; about a minute)", flush=True)
        if installed_version() is None:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", *REQUIREMENTS], check=True)
    hooks = [p.name for p in VENV.glob("lib/python*/site-packages/*.pth") if "litellm" in p.name]
    if hooks:
        raise SystemExit(f"refusing to run LiteLLM: unexpected start-up hooks {hooks} in {VENV}")
    packages = ("litellm", "openai", "aiohttp", "uvicorn", "httptools", "uvloop")
    return {f"litellm-env {name}": installed_version(name) or "not installed" for name in packages}


def write_config(path: Path, upstream_base_url: str, alias: str, upstream_model: str) -> Path:
    """A proxy config with one model: ``alias`` served by the OpenAI-compatible upstream."""
    path.write_text(
        "model_list:\n"
        f"  - model_name: {alias}\n"
        "    litellm_params:\n"
        f"      model: openai/{upstream_model}\n"
        f"      api_base: {upstream_base_url}\n"
        "      api_key: sk-bench\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
        "general_settings:\n"
        "  disable_spend_logs: true\n"
    )
    return path


def command(config: Path, port: int) -> list[str]:
    """The proxy's command line: one worker on loopback, as souverain runs."""
    litellm = VENV / "bin" / "litellm"
    server = ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    return [str(litellm), "--config", str(config), *server]
