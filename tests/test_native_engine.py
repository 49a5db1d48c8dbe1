"""The setup step that compiles llama.cpp's engine for the local CPU: what it pins, keys and passes."""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from tools import native_engine

from souverain.backends.embedded import engine_build

ROOT = Path(__file__).resolve().parent.parent

AMD = """processor\t: 0
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx avx2 fma f16c bmi2 avx512f avx512_vnni avx512_bf16 hypervisor
processor\t: 1
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx avx2 fma f16c bmi2 avx512f avx512_vnni avx512_bf16 hypervisor
"""


def locked_sdist() -> tuple[str, str]:
    """The xllamacpp version and sdist sha256 that uv.lock pins."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    package = next(p for p in lock["package"] if p["name"] == "xllamacpp")
    return package["version"], package["sdist"]["hash"].removeprefix("sha256:")


def test_the_compiled_source_is_the_one_uv_lock_pins() -> None:
    requirements = native_engine.REQUIREMENTS.read_text(encoding="utf-8")
    version, sha256 = locked_sdist()
    assert native_engine.pinned_version(requirements) == version
    assert re.findall(r"--hash=sha256:([0-9a-f]{64})", requirements) == [sha256]


def test_every_build_tool_is_pinned_with_a_hash() -> None:
    lines = native_engine.BUILD_REQUIREMENTS.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert {line.split("==")[0] for line in requirements} == {"setuptools", "cython", "versioneer"}
    assert all(re.search(r"==\S+ +--hash=sha256:[0-9a-f]{64}", line) for line in requirements)


def test_a_version_line_is_required() -> None:
    with pytest.raises(ValueError, match="xllamacpp==VERSION"):
        native_engine.pinned_version("numpy==2.0\n")


def test_the_cpu_signature_follows_the_features_that_change_the_code() -> None:
    signature = native_engine.cpu_signature(AMD)
    assert re.fullmatch(r"[0-9a-f]{12}", signature)
    assert native_engine.cpu_signature(AMD.replace(" hypervisor", "")) == signature  # irrelevant flag
    assert native_engine.cpu_signature(AMD.replace(" avx512_vnni", "")) != signature
    assert native_engine.cpu_signature(AMD.replace("fpu sse2", "fpu sse2 amx_tile")) != signature
    assert native_engine.cpu_signature(AMD.replace("9R14", "7R13")) != signature


def test_an_unreadable_cpu_skips_the_build() -> None:
    with pytest.raises(native_engine.Skip):
        native_engine.cpu_signature("processor\t: 0\n")


def test_wheels_are_kept_per_version_cpu_and_build_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = native_engine.engine_dir(tmp_path, "2026.10.11549", "0123456789ab")
    assert where.parent == tmp_path / "engine"
    assert re.fullmatch(r"2026\.10\.11549-0123456789ab-[0-9a-f]{8}", where.name)
    assert native_engine.engine_dir(tmp_path, "2026.10.11550", "0123456789ab") != where
    assert native_engine.engine_dir(tmp_path, "2026.10.11549", "ba9876543210") != where
    monkeypatch.setattr(native_engine, "CMAKE_ARGS", (*native_engine.CMAKE_ARGS, "-DGGML_OPENMP=OFF"))
    assert native_engine.engine_dir(tmp_path, "2026.10.11549", "0123456789ab") != where  # rebuilt


def test_the_build_stays_offline_native_and_without_amx() -> None:
    env = native_engine.build_environment({"XLLAMACPP_RELEASE": "1", "PATH": "/usr/bin"}, jobs=2)
    args = shlex.split(env["CMAKE_ARGS"])  # as xllamacpp's build script splits it
    assert "-DLLAMA_BUILD_BORINGSSL=OFF" in args
    assert "-DLLAMA_LLGUIDANCE=OFF" in args
    for language in ("C", "CXX"):
        flags = next(a for a in args if a.startswith(f"-DCMAKE_{language}_FLAGS="))
        assert set(flags.split("=", 1)[1].split()) == {"-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16"}
    assert "XLLAMACPP_RELEASE" not in env  # that switch would build the portable AVX2 engine again
    assert env["NPROC"] == "2"
    assert env["PATH"] == "/usr/bin"


def test_prebuilt_can_be_chosen() -> None:
    with pytest.raises(native_engine.Skip, match="ENGINE=prebuilt"):
        native_engine.check_prerequisites("prebuilt")


def test_choosing_prebuilt_leaves_the_environment_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert native_engine.main(["--engine", "prebuilt"]) == 0
    assert "using the prebuilt AVX2 engine" in capsys.readouterr().out


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(SystemExit):
        native_engine.main(["--engine", "fast"])


def test_the_engine_reports_what_it_was_built_for() -> None:
    build = engine_build()
    assert build.startswith("built for ")
    assert "AVX2" in build.split(", ") or build == "built for no AVX"


def fake_wheel(tmp_path: Path, module: str) -> Path:
    """A wheel-shaped zip holding an ``xllamacpp`` module with the given source."""
    wheel = tmp_path / "xllamacpp-0-cp310-abi3-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("xllamacpp/__init__.py", module)
    return wheel


def test_a_compiled_engine_is_tried_in_a_child_process_before_it_is_installed(tmp_path: Path) -> None:
    works = fake_wheel(tmp_path, "def get_system_info():\n    return 'CPU : AVX512 = 1 |'\n")
    assert native_engine.works_here(works, Path(sys.executable)) == "CPU : AVX512 = 1 |"
    crashes = fake_wheel(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    with pytest.raises(native_engine.Skip, match="does not run on this CPU"):
        native_engine.works_here(crashes, Path(sys.executable))
