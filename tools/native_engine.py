"""Build llama.cpp's engine (xllamacpp, the version pinned in uv.lock) for this machine's CPU.

The prebuilt xllamacpp wheel in uv.lock is compiled for AVX2, the common floor of x86-64 servers. The same
pinned source compiled for the CPU it runs on uses AVX-512 and its integer dot products where the CPU has
them, and then reads prompts about twice as fast (docs/benchmarks.md, Native engine): the assistant's time
to first token is the time to read its sources. ``make setup`` runs this after ``uv sync``:

1. the source archive is downloaded with pip and checked against the sha256 in
   ``tools/engine-requirements.txt`` (the one uv.lock holds), and the build tools (setuptools, Cython,
   versioneer) are installed hash-checked from ``tools/engine-build-requirements.txt``;
2. it is compiled once per CPU (a few minutes on 2 cores) into ``data/engine/<version>-<cpu>/``, without
   the network (no BoringSSL, no llguidance: the embedded server listens on loopback and souverain passes
   no llguidance grammar) and without AMX (some virtual machines advertise AMX and fault on it);
3. the wheel is imported once in a child process (a CPU that cannot run it kills the child, not setup)
   and then installed into the virtual environment over the prebuilt one; ``uv sync`` puts the prebuilt
   wheel back, so this runs after every sync and reuses the compiled wheel.

Anything that stops the build (no compiler, not Linux x86-64, a failed compilation) leaves the prebuilt
wheel in place with a warning: the native engine is a speed-up, never a condition to run.
``make run ENGINE=prebuilt`` (``--engine prebuilt``) skips it. Only the standard library is used (it
runs before the project's environment is complete).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "tools" / "engine-requirements.txt"
BUILD_REQUIREMENTS = ROOT / "tools" / "engine-build-requirements.txt"
CMAKE_ARGS = (
    "-DLLAMA_BUILD_BORINGSSL=OFF",  # its build clones BoringSSL from the network
    "-DLLAMA_LLGUIDANCE=OFF",  # its build fetches a Rust crate
    "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16",  # explicit -mno wins over -march=native
    "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
)
"""Passed to xllamacpp's build (which compiles for the native CPU unless told otherwise)."""

CPU_FLAGS_THAT_MATTER = ("avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni", "avx512")
"""Flags (prefixes) whose presence changes the code the compiler emits for ggml."""


class Skip(Exception):
    """The native engine cannot be built here; the prebuilt wheel stays."""


def pinned_version(requirements: str) -> str:
    """The xllamacpp version pinned in the requirements file's ``xllamacpp==X`` line."""
    for line in requirements.splitlines():
        name, sep, rest = line.strip().partition("==")
        if sep and name.strip() == "xllamacpp":
            return rest.split()[0]
    raise ValueError("no xllamacpp==VERSION line in the engine requirements")


def cpu_signature(cpuinfo: str) -> str:
    """A short name for the CPU features a native build depends on (same CPU model, same signature)."""
    model, flags = "", set[str]()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    relevant = sorted(f for f in flags if f.startswith(CPU_FLAGS_THAT_MATTER) or f.startswith("amx"))
    if not relevant:
        raise Skip("the CPU's features could not be read from /proc/cpuinfo")
    digest = hashlib.sha256(" ".join([model, *relevant]).encode()).hexdigest()
    return digest[:12]


def engine_dir(data_dir: Path, version: str, signature: str) -> Path:
    """Where the wheel compiled for this CPU is kept: one per version, CPU and set of build flags."""
    flags = hashlib.sha256("\n".join(CMAKE_ARGS).encode()).hexdigest()[:8]
    return data_dir / "engine" / f"{version}-{signature}-{flags}"


def build_environment(base: dict[str, str], jobs: int) -> dict[str, str]:
    """The environment of the compilation: our CMake arguments, as many jobs as CPUs."""
    env = dict(base)
    env["CMAKE_ARGS"] = " ".join(f"'{arg}'" if " " in arg else arg for arg in CMAKE_ARGS)
    env["NPROC"] = str(max(1, jobs))
    env.pop("XLLAMACPP_RELEASE", None)  # the portable (AVX2) build that the prebuilt wheel already is
    return env


def check_prerequisites(engine: str) -> None:
    """Raise ``Skip`` when the prebuilt engine was asked for or this machine cannot compile one."""
    if engine == "prebuilt":
        raise Skip("ENGINE=prebuilt")
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise Skip(f"a native build is made on Linux x86-64 only (this is {platform.machine()})")
    missing = [tool for tool in ("cmake", "cc", "c++") if shutil.which(tool) is None]
    if missing:
        raise Skip(f"missing build tools: {', '.join(missing)} (Debian: apt-get install cmake g++)")


def run(command: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> None:
    """Run a command; its output goes to ``log`` when given; a failure raises ``Skip``."""
    with open(log, "ab") if log else open(os.devnull, "wb") as sink:
        result = subprocess.run(command, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        where = f"; see {log}" if log else ""
        raise Skip(f"{Path(command[0]).name} {command[1]} exited with {result.returncode}{where}")


def build_wheel(tools_python: Path, target: Path, log: Path) -> Path:
    """Download the pinned source (hash-checked), compile it, and return the wheel in ``target``."""
    build_venv = ROOT / ".tools" / "engine-build"
    python = build_venv / "bin" / "python"
    if not python.exists():
        run([str(tools_python), "-m", "venv", str(build_venv)], log=log)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    run([*pip, "--require-hashes", "--only-binary", ":all:", "-r", str(BUILD_REQUIREMENTS)], log=log)
    with tempfile.TemporaryDirectory(prefix="souverain-engine-") as scratch:
        sources = Path(scratch) / "sources"
        download = [str(python), "-m", "pip", "--disable-pip-version-check", "download", "--no-deps"]
        pinned = ["--no-binary", ":all:", "--require-hashes", "-r", str(REQUIREMENTS)]
        run([*download, *pinned, "-d", str(sources)], log=log)
        archive = next(sources.glob("xllamacpp-*.tar.gz"))
        env = build_environment(dict(os.environ), os.cpu_count() or 2)
        wheels = Path(scratch) / "wheels"
        wheel = [str(python), "-m", "pip", "--disable-pip-version-check", "wheel", "--no-deps"]
        run([*wheel, "--no-build-isolation", "--no-cache-dir", "-w", str(wheels), str(archive)], env, log)
        built = next(wheels.glob("xllamacpp-*.whl"))
        target.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(built, target / built.name))


def works_here(wheel: Path, python: Path) -> str:
    """The engine's CPU report when the wheel imports and runs in a child process; ``Skip`` otherwise."""
    with tempfile.TemporaryDirectory(prefix="souverain-engine-check-") as scratch:
        shutil.unpack_archive(wheel, scratch, format="zip")
        probe = "import xllamacpp; print(xllamacpp.get_system_info())"
        try:
            result = subprocess.run(
                [str(python), "-c", probe],
                env={**os.environ, "PYTHONPATH": scratch},
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            raise Skip("the compiled engine did not load within 2 minutes") from None
    if result.returncode != 0:
        raise Skip(f"the compiled engine does not run on this CPU (exit {result.returncode})")
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Build (once per CPU) and install the native engine; 0 unless the installation itself breaks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("native", "prebuilt"), default="native")
    engine = parser.parse_args(argv).engine
    venv_python = ROOT / ".venv" / "bin" / "python"
    uv = ROOT / ".tools" / "bin" / "uv"
    try:
        check_prerequisites(engine)
        version = pinned_version(REQUIREMENTS.read_text(encoding="utf-8"))
        target = engine_dir(ROOT / "data", version, cpu_signature(Path("/proc/cpuinfo").read_text()))
        wheel = next(target.glob("xllamacpp-*.whl"), None)
        if wheel is None:
            log = target.parent / f"{target.name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            print(f"Compiling llama.cpp {version} for this CPU, once (a few minutes; log: {log}) ...")
            wheel = build_wheel(Path(sys.executable), target, log)
        report = works_here(wheel, venv_python)
    except Skip as reason:
        print(f"warning: native llama.cpp engine not built ({reason}); using the prebuilt AVX2 engine")
        return 0
    install = [str(uv), "pip", "install", "--quiet", "--python", str(venv_python), "--no-deps"]
    subprocess.run([*install, "--reinstall", str(wheel)], check=True)
    print(f"llama.cpp engine compiled for this CPU: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
