"""Process and network helpers shared by the benchmarks: loopback checks, ports, servers as subprocesses."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"


def check_loopback(url: str) -> None:
    """Refuse any target that is not a loopback address: benchmarks never leave this machine."""
    host = urlsplit(url).hostname or ""
    address = "127.0.0.1" if host == "localhost" else host
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"benchmarks only target loopback addresses, not {host!r}")


def run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when it is installed (it comes with uvicorn[standard]), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        print("uvloop is not installed; using the default event loop", file=sys.stderr)
        asyncio.run(main)
        return
    uvloop.run(main)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server started as a subprocess, its output in a log file; stopped on exit of the ``with``.

    ``env`` is the child's whole environment (None: inherit this process's).
    """

    def __init__(
        self, name: str, argv: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            list(argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=REPO,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, url: str, timeout: float) -> float:
        """Poll ``url`` until it answers 200; the seconds it took. Raises with the log tail on failure."""
        check_loopback(url)
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.1)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name} did not become ready at {url} in {timeout} s; log tail:\n{tail}")

    def stop(self) -> None:
        """SIGINT (graceful), then SIGTERM, then SIGKILL."""
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                break
            self.process.send_signal(sig)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                continue
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
