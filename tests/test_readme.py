"""The README's command-line walkthrough of governance runs as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
pytestmark = pytest.mark.timeout(600)


def governance_block() -> str:
    text = README.read_text()
    start = text.index("From the command line (it works on the configured database directly")
    match = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert match is not None
    return match.group(1)


def test_readme_two_commands_come_first_and_ci_runs_the_second() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    assert "make test" in (README.parent / ".ci" / "run").read_text()


def test_governance_walkthrough_runs(tmp_path: Path) -> None:
    config = tmp_path / "souverain.toml"
    config.write_text(
        f"""
data_dir = {json.dumps(str(tmp_path / "data"))}
[backends.fake]
kind = "fake"
[[models]]
name = "chat-default"
routes = [{{ backend = "fake" }}]
"""
    )
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    os.symlink(Path(sys.executable).parent / "souverain", tmp_path / ".venv" / "bin" / "souverain")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUVERAIN_")}
    env["SOUVERAIN_CONFIG"] = str(config)
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "-euo", "pipefail", "-c", governance_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "souv_" in done.stdout  # the key listing and the demo key
    assert "courrier" in done.stdout
