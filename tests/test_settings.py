"""Settings: every field documented, loading from TOML and SOUVERAIN_ variables, refusal of invalid
configurations, and ``souverain config check`` as operators run it."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from souverain.settings import Settings

VALID_TOML = """
data_dir = "{data_dir}"

[server]
port = 9100
max_body_bytes = 4096

[backends.local]
kind = "fake"
reply = "from the file"

[backends.spare]
kind = "fake"
zone = "sovereign_cloud"

[[models]]
name = "chat"
routes = [{{ backend = "local" }}, {{ backend = "spare", priority = 1 }}]
max_output_tokens = 256

[[models]]
name = "embed"
type = "embeddings"
routes = [{{ backend = "local" }}]
"""

MINIMAL_TOML = """
[backends.local]
kind = "fake"

[[models]]
name = "chat"
routes = [{ backend = "local" }]
"""

# Each invalid file holds exactly these errors, reported one line each (path of the error, a fragment).
INVALID_FILES = {
    "field errors": (
        """
[server]
port = 70000

[backends.local]
kind = "fake"
sha256 = "ABC123"

[backends.remote]
kind = "openai"

[[models]]
name = "chat"
routes = [{ backend = "local" }]
""",
        [
            ("server.port", "less than or equal to 65535"),
            ("backends.local", "sha256 must be 64 lowercase hexadecimal"),
            ("backends.remote", "needs base_url"),
        ],
    ),
    "unknown backend": (
        MINIMAL_TOML.replace('routes = [{ backend = "local" }]', 'routes = [{ backend = "nowhere" }]'),
        [("(settings)", "unknown backend 'nowhere'")],
    ),
    "unknown kind": (
        MINIMAL_TOML.replace('kind = "fake"', 'kind = "quantum"'),
        [("backends.local.kind", "unknown backend kind 'quantum'")],
    ),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SOUVERAIN_ variable of the machine leaks in, and no souverain.toml of the working directory."""
    for name in list(os.environ):
        if name.startswith("SOUVERAIN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _models_in(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def documented_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    """(dotted path, description) of every field, recursing into nested settings models."""
    for name, field in model.model_fields.items():
        yield f"{prefix}{name}", field.description
        for nested in _models_in(field.annotation):
            yield from documented_fields(nested, f"{prefix}{name}.")


def test_every_setting_is_documented() -> None:
    fields = dict(documented_fields(Settings))
    undocumented = sorted(path for path, text in fields.items() if not (text and text.strip()))
    assert not undocumented, f"settings without a description: {undocumented}"
    # the walk reaches every nested model, so a new nested field cannot escape the check
    for path in ["server.port", "backends.sha256", "models.routes.weight", "routing.cooldown_seconds"]:
        assert path in fields


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "souverain-test.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_the_toml_file_named_by_souverain_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "state"
    monkeypatch.setenv("SOUVERAIN_CONFIG", str(_write(tmp_path, VALID_TOML.format(data_dir=data_dir))))
    settings = Settings()
    assert settings.data_dir == data_dir
    assert settings.server.port == 9100
    assert settings.server.max_body_bytes == 4096
    assert settings.server.host == "127.0.0.1"  # a default, untouched by the file
    assert set(settings.backends) == {"local", "spare"}
    assert settings.backends["local"].reply == "from the file"
    assert settings.backends["spare"].zone == "sovereign_cloud"
    assert [m.name for m in settings.models] == ["chat", "embed"]
    assert settings.models[0].routes[1].priority == 1
    assert settings.models[1].type == "embeddings"


def test_environment_overrides_the_file_with_nested_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "state"
    monkeypatch.setenv("SOUVERAIN_CONFIG", str(_write(tmp_path, VALID_TOML.format(data_dir=data_dir))))
    monkeypatch.setenv("SOUVERAIN_SERVER__PORT", "9200")
    monkeypatch.setenv("SOUVERAIN_SERVER__LOG_FORMAT", "text")
    monkeypatch.setenv("SOUVERAIN_BACKENDS__LOCAL__REPLY", "from the environment")
    monkeypatch.setenv("SOUVERAIN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/souverain")
    settings = Settings()
    assert settings.server.port == 9200
    assert settings.server.max_body_bytes == 4096  # still from the file: sources merge field by field
    assert settings.server.log_format == "text"
    assert settings.backends["local"].reply == "from the environment"
    assert settings.backends["local"].kind == "fake"
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")


def test_a_named_configuration_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUVERAIN_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ValueError, match=r"absent\.toml"):
        Settings()


def test_without_a_file_the_defaults_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOUVERAIN_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no souverain.toml here
    monkeypatch.setenv("SOUVERAIN_SERVER__MAX_MESSAGES", "12")
    settings = Settings()
    assert settings.server.port == 8000
    assert settings.server.max_messages == 12
    assert {m.name for m in settings.models} == {"chat-default", "embeddings-default"}


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SOUVERAIN_SERVER__PORT", "eighty", "valid integer"),
        ("SOUVERAIN_SERVER__MAX_BODY_BYTES", "10", "greater than or equal to 1024"),
        ("SOUVERAIN_SERVER__LOG_FORMAT", "xml", "'json' or 'text'"),
        ("SOUVERAIN_SERVER__BOGUS", "1", "Extra inputs are not permitted"),
    ],
)
def test_invalid_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv("SOUVERAIN_CONFIG", str(_write(tmp_path, MINIMAL_TOML)))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=fragment):
        Settings()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (INVALID_FILES["field errors"][0], "sha256 must be 64 lowercase hexadecimal"),
        (INVALID_FILES["field errors"][0], "an openai backend needs base_url"),
        (INVALID_FILES["unknown backend"][0], "routes to unknown backend 'nowhere'"),
        (MINIMAL_TOML + "\n[server]\nport = 0\n", "greater than or equal to 1"),
        (MINIMAL_TOML.replace('kind = "fake"', 'kind = "embedded"'), "needs bundled"),
        (MINIMAL_TOML.replace('kind = "fake"', 'kind = "fake"\nmodel_path = "m.gguf"'), "needs its sha256"),
        (MINIMAL_TOML.replace('kind = "fake"', 'kind = "fake"\nzone = "moon"'), "on_prem"),
        (MINIMAL_TOML + '\n[[models]]\nname = "chat"\nroutes = [{ backend = "local" }]\n', "repeated: chat"),
        (MINIMAL_TOML.replace('name = "chat"', 'name = "chat"\nroutes_typo = 1'), "Extra inputs"),
        (MINIMAL_TOML.replace('routes = [{ backend = "local" }]', "routes = []"), "at least 1 item"),
        ("sever = 1\n" + MINIMAL_TOML, "Extra inputs are not permitted"),
    ],
)
def test_invalid_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    monkeypatch.setenv("SOUVERAIN_CONFIG", str(_write(tmp_path, text)))
    with pytest.raises(ValidationError, match=fragment):
        Settings()


def _config_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """``souverain config check`` in a subprocess, configured by a file only."""
    executable = Path(sys.prefix) / "bin" / "souverain"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOUVERAIN_")}
    environment["SOUVERAIN_CONFIG"] = str(_write(tmp_path, text))
    return subprocess.run(
        [str(executable), "config", "check"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=100,  # under the per-test limit; the CLI import alone takes seconds on a loaded machine
        check=False,
    )


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    result = _config_check(tmp_path, VALID_TOML.format(data_dir=tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout
    assert "2 backends, 2 models" in result.stdout


@pytest.mark.parametrize("case", sorted(INVALID_FILES))
def test_config_check_explains_each_error_in_one_line(tmp_path: Path, case: str) -> None:
    # few cases, several errors each: every run imports the whole CLI (seconds on a busy 2-core machine)
    text, expected = INVALID_FILES[case]
    result = _config_check(tmp_path, text)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert len(lines) == len(expected), result.stderr
    for where, fragment in expected:
        assert any(line.startswith(f"{where}:") and fragment in line for line in lines), (where, lines)
