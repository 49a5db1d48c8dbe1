"""The three things the gateway benchmark drives: the fake upstream directly, souverain and LiteLLM.

Each target is a context manager that starts its server as a subprocess (pinned to its CPU when asked),
waits until it is ready and yields the chat completions URL on loopback.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import litellm_proxy
from bench.procs import PYTHON, REPO, Server, free_port

ALIAS = "bench-model"
UPSTREAM_MODEL = "fake-model"
SOUVERAIN = REPO / ".venv" / "bin" / "souverain"


@dataclass
class Placement:
    """Which CPUs the gateway gets, and which the fake upstream and the load generator share."""

    gateway: set[int] | None = None
    others: set[int] | None = None

    def describe(self) -> dict[str, list[int]]:
        """The CPU sets, for the results file."""
        return {"gateway_cpus": sorted(self.gateway or []), "other_cpus": sorted(self.others or [])}

    @classmethod
    def pinned(cls) -> Placement:
        """Gateway alone on the last CPU, everything else on the others (needs at least two CPUs)."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls()
        return cls(gateway={cpus[-1]}, others=set(cpus[:-1]))


@dataclass
class Running:
    """A started target: its URL, its server (None for the direct target) and how long it took to start."""

    name: str
    url: str
    server: Server | None = None
    startup_s: float = 0.0
    info: dict[str, str] = field(default_factory=dict)
    bearer: str = "sk-bench"  # the key the load generator sends


def _pin(server: Server, cpus: set[int] | None) -> None:
    # Set right after the fork: the interpreter starts its threads later and they inherit it.
    if cpus:
        os.sched_setaffinity(server.pid, cpus)


@contextmanager
def fake_upstream(log_dir: Path, placement: Placement) -> Iterator[Running]:
    """The fake OpenAI server; the direct target."""
    port = free_port()
    with Server(
        "fake_upstream", [str(PYTHON), "-m", "bench.fake_upstream", "--port", str(port)], log_dir
    ) as s:
        _pin(s, placement.others)
        base = f"http://127.0.0.1:{port}/v1"
        startup = s.wait_ready(f"{base}/models", timeout=30)
        yield Running("direct", f"{base}/chat/completions", s, startup)


def souverain_config(
    path: Path, data_dir: Path, port: int, upstream_base: str, governance: str | None = None
) -> Path:
    """A souverain TOML config with one ``openai`` backend pointing at the fake upstream."""
    # By default like LiteLLM without a master key: no bearer keys (the development use case).
    governance = governance or "auth_required = false"
    path.write_text(
        f'data_dir = "{data_dir}"\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nlog_level = "WARNING"\n\n'
        f"[governance]\n{governance}\n\n"
        f'[backends.upstream]\nkind = "openai"\nbase_url = "{upstream_base}"\napi_key = "sk-bench"\n\n'
        f'[[models]]\nname = "{ALIAS}"\nmax_output_tokens = 256\n\n'
        f'[[models.routes]]\nbackend = "upstream"\nmodel = "{UPSTREAM_MODEL}"\n'
    )
    return path


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment minus any SOUVERAIN_* setting of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUVERAIN_")}
    return {**env, **extra}


@contextmanager
def souverain(log_dir: Path, placement: Placement, upstream_base: str) -> Iterator[Running]:
    """``souverain serve`` (one process, uvloop, httptools) in front of the fake upstream."""
    port = free_port()
    config = souverain_config(log_dir / "souverain.toml", log_dir / "souverain-data", port, upstream_base)
    env = _clean_env({"SOUVERAIN_CONFIG": str(config)})
    argv = [str(SOUVERAIN), "serve", "--port", str(port)]
    with Server("souverain", argv, log_dir, env=env) as s:
        _pin(s, placement.gateway)
        base = f"http://127.0.0.1:{port}"
        startup = s.wait_ready(f"{base}/readyz", timeout=60)
        yield Running("souverain", f"{base}/v1/chat/completions", s, startup)


@contextmanager
def litellm(log_dir: Path, placement: Placement, upstream_base: str) -> Iterator[Running]:
    """LiteLLM's proxy (one worker) in front of the fake upstream."""
    versions = litellm_proxy.ensure_installed()
    port = free_port()
    config = litellm_proxy.write_config(log_dir / "litellm.yaml", upstream_base, ALIAS, UPSTREAM_MODEL)
    env = _clean_env(litellm_proxy.ENV)
    with Server("litellm", litellm_proxy.command(config, port), log_dir, env=env) as s:
        _pin(s, placement.gateway)
        base = f"http://127.0.0.1:{port}"
        startup = s.wait_ready(f"{base}/health/liveliness", timeout=180)
        yield Running("litellm", f"{base}/v1/chat/completions", s, startup, versions)


_HUGE = ["--requests-per-minute", "100000000", "--tokens-per-minute", "100000000000"]


def _provision_key(config: Path) -> str:
    """A tenant, a use case and an app key with (never reached) quotas, through the CLI."""
    env = _clean_env({"SOUVERAIN_CONFIG": str(config)})

    def cli(*args: str) -> str:
        done = subprocess.run([str(SOUVERAIN), *args], env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    cli("tenants", "create", "bench", *_HUGE)
    cli(
        "usecases",
        "create",
        "bench",
        "--name",
        "load",
        "--purpose",
        "Benchmark load",
        "--legal-basis",
        "none (benchmark)",
        "--category",
        "internal_productivity",
        "--ceiling",
        "internal",
        "--model",
        ALIAS,
        "--retention-days",
        "1",
        *_HUGE,
    )
    return cli("keys", "create", "--use-case", "bench/load", "--name", "bench", *_HUGE)


def _governed(
    name: str, governance: str
) -> Callable[[Path, Placement, str], AbstractContextManager[Running]]:
    @contextmanager
    def start(log_dir: Path, placement: Placement, upstream_base: str) -> Iterator[Running]:
        port = free_port()
        config = souverain_config(
            log_dir / f"{name}.toml", log_dir / f"{name}-data", port, upstream_base, governance
        )
        key = _provision_key(config)
        env = _clean_env({"SOUVERAIN_CONFIG": str(config)})
        argv = [str(SOUVERAIN), "serve", "--port", str(port)]
        with Server(name, argv, log_dir, env=env) as s:
            _pin(s, placement.gateway)
            base = f"http://127.0.0.1:{port}"
            startup = s.wait_ready(f"{base}/readyz", timeout=60)
            yield Running(name, f"{base}/v1/chat/completions", s, startup, bearer=key)

    return start


# Bearer keys, quotas per key, use case and tenant, usage accounting: in-process, then shared in Redis.
souverain_keys = _governed("souverain+keys", "auth_required = true")
souverain_redis = _governed(
    "souverain+redis",
    f'auth_required = true\nredis_url = "redis://127.0.0.1:6379/0"\nredis_prefix = "bench-{os.getpid()}"',
)
