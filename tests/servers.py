"""``souverain serve`` as a real subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
import pytest


def souverain_command() -> list[str]:
    """The console script installed next to this interpreter."""
    script = Path(sys.executable).parent / "souverain"
    assert script.is_file(), f"the souverain console script is not installed next to {sys.executable}"
    return [str(script)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def server_environment(config: Path) -> dict[str, str]:
    """This process's environment without SOUVERAIN_* settings, pointing at ``config``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SOUVERAIN_")}
    return {**env, "SOUVERAIN_CONFIG": str(config)}


class Server:
    """A running ``souverain serve`` with its log file; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(
        self,
        config: Path,
        workdir: Path,
        name: str = "server",
        start_timeout: float = 120.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.config, self.workdir, self.start_timeout = config, workdir, start_timeout
        self.extra_args = extra_args
        self.killed = False  # True when SIGTERM did not stop it in time
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [*souverain_command(), "serve", "--port", str(self.port), *self.extra_args],
                cwd=self.workdir,
                env=server_environment(self.config),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self.wait_until_ready()
        except BaseException:  # a failed or interrupted start must not leave the server running
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        return self

    def wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"souverain serve exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.3)
        pytest.fail(f"souverain serve was not ready after {self.start_timeout} s:\n{self.tail()}")

    def tail(self, size: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-size:]

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.process.kill()
            self.process.wait(timeout=15)
