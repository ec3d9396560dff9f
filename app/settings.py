"""The one Settings object: read from WEBCARE_* environment variables once, at start."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.encoder import WEIGHTS_FILE
from bot.handoff.office_hours import OfficeHours
from bot.onnx_encoder import BACKENDS as ONNX_BACKENDS
from bot.other_companies import parse_names

ENCODER_BACKENDS = ("torch", *ONNX_BACKENDS)


class Settings(BaseSettings):
    """Every setting Webcare reads; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="WEBCARE_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./data/webcare.db"
    data_dir: Path = Path("./data")
    vector_cache_dir: Path | None = Field(
        default=None,
        description=(
            "what is derived from the model, kept between restarts: encoded vectors and the exported ONNX "
            "model (processes may share it); default data_dir/cache"
        ),
    )
    brand_name: str = Field(
        default="", description="Name the bot uses for the brand (empty: wording that needs no name)"
    )
    other_companies: str = Field(
        default="",
        description=(
            "comma-separated names of competitors and other brands: a question about their products goes "
            "to a person instead of being answered from our FAQ"
        ),
    )
    encoder_backend: str = Field(
        default="onnx-fp32",
        description=(
            "onnx-fp32 (the model on ONNX Runtime, torch's vectors), openvino (bf16 on CPUs with AMX or "
            "AVX512-BF16: vectors within 0.0001 of fp32's, 1.7x the messages/s in batches there; fp32 "
            "elsewhere), torch, or onnx (int8: fast, but vectors further from fp32's)"
        ),
    )
    worker_encoder_backend: str = Field(
        default="auto",
        description=(
            "the encoder of a standalone `webcare worker`, which encodes messages in batches only: auto is "
            "openvino where encoder_backend is onnx-fp32 and the CPU multiplies bf16 natively (vectors "
            "within 0.0001 of fp32's, 20-30% less worker CPU a message), else encoder_backend; or a backend"
        ),
    )
    encoder_model_dir: Path | None = Field(
        default=None,
        description=(
            "an encoder tuned to the knowledge base by 'webcare nlu tune-encoder' (its output directory); "
            "default the packaged all-MiniLM-L6-v2"
        ),
    )
    encoder_model_wait: bool = Field(
        default=False,
        description=(
            "true: encoder_model_dir may hold no model yet (a tuning under way); the packaged model answers "
            "until a complete one is there, then servers and workers switch to it, and to every later "
            "tuning written there, within seconds and without a restart"
        ),
    )
    nlu_backend: Literal["builtin", "rasa"] = Field(
        default="builtin", description="builtin classifier, or a running Rasa server at rasa_url"
    )
    rasa_url: str = Field(default="http://127.0.0.1:5005", description="rasa run --enable-api")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    # Channels: secrets from the platforms' developer consoles; API base URLs can point at a fake platform.
    meta_app_secret: SecretStr = SecretStr("")
    meta_verify_token: SecretStr = SecretStr("")
    meta_page_token: SecretStr = SecretStr("")
    whatsapp_token: SecretStr = SecretStr("")
    x_consumer_secret: SecretStr = SecretStr("")
    x_access_token: SecretStr = SecretStr("")
    meta_graph_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v25.0"
    x_api_url: str = "https://api.x.com"
    send_timeout_seconds: float = Field(default=10.0, gt=0)

    # Workers: the embedded one runs inside `webcare serve`; `webcare worker` runs more.
    embedded_worker: bool = True
    job_lease_seconds: float = Field(
        default=60.0, gt=0, description="after this a dead worker's job is retaken"
    )
    max_attempts: int = Field(default=8, ge=1, description="tries before a job is dead-lettered")
    worker_poll_seconds: float = Field(default=0.25, gt=0)
    worker_send_concurrency: int = Field(
        default=64, ge=1, le=256, description="sends in flight at once per worker (platform APIs are slow)"
    )
    worker_niceness: int = Field(
        default=10, ge=0, le=19, description="how much lower the workers' CPU priority is than intake's"
    )
    worker_handle_together: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="messages a worker handles in one transaction; unset: 8 on PostgreSQL, 2 on SQLite",
    )

    # Handoff: SLA minutes per priority 1 (urgent) .. 4 (routine), team routes, office hours.
    sla_minutes: str = Field(default="15,60,240,1440", description="minutes to reply, priority 1..4")
    team_routes: str = Field(
        default="",
        description="reason=team pairs, e.g. 'sensitive:legal_threat=legal, personal_data=privacy'",
    )
    default_team: str = "support"
    office_hours: str = Field(
        default="", description="e.g. 'mon-fri 08:00-20:00, sat 09:00-17:00'; empty means always staffed"
    )
    timezone: str = "Europe/London"

    # Accounts: bearer tokens for the API, and the login rate limit per user name and address.
    token_ttl_minutes: int = Field(default=720, ge=1)
    login_attempts_per_minute: int = Field(default=5, ge=1)

    @field_validator("sla_minutes")
    @classmethod
    def _four_minutes(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError("must be four positive whole minutes for priorities 1..4, e.g. '15,60,240,1440'")
        return value

    @field_validator("team_routes")
    @classmethod
    def _routes(cls, value: str) -> str:
        for pair in filter(None, (p.strip() for p in value.split(","))):
            key, sep, team = pair.partition("=")
            if not sep or not key.strip() or not team.strip():
                raise ValueError(f"{pair!r} should be reason=team, e.g. 'sensitive:legal_threat=legal'")
        return value

    @model_validator(mode="after")
    def _hours(self) -> Settings:
        OfficeHours.parse(self.office_hours, self.timezone)  # raises with the problem and the expected form
        return self

    @model_validator(mode="after")
    def _tuned_model_there(self) -> Settings:
        # A typo in the path must not quietly serve the packaged model, unless waiting for it was asked for.
        model_dir = self.encoder_model_dir
        if model_dir is not None and not self.encoder_model_wait and not (model_dir / WEIGHTS_FILE).is_file():
            raise ValueError(
                f"encoder_model_dir: {model_dir} holds no {WEIGHTS_FILE}: point it at the --out directory of "
                "'webcare nlu tune-encoder' (or set WEBCARE_ENCODER_MODEL_WAIT=true to serve the packaged "
                "model until a tuning there is complete)"
            )
        return self

    @field_validator("encoder_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in ENCODER_BACKENDS:
            raise ValueError(f"must be one of {', '.join(ENCODER_BACKENDS)}")
        return value

    @field_validator("worker_encoder_backend")
    @classmethod
    def _known_worker_backend(cls, value: str) -> str:
        if value != "auto" and value not in ENCODER_BACKENDS:
            raise ValueError(f"must be auto or one of {', '.join(ENCODER_BACKENDS)}")
        return value

    @field_validator("encoder_model_dir", mode="before")
    @classmethod
    def _tuned_model(cls, value: object) -> Path | None:
        if value is None or value == "":
            return None  # set but empty: the packaged model, as when unset
        return Path(str(value))

    @property
    def models_dir(self) -> Path:
        """Where the exported ONNX model is kept: derived from the packaged weights, like the vectors."""
        return self.cache_dir / "models"

    @property
    def other_company_names(self) -> tuple[str, ...]:
        return parse_names(self.other_companies)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.vector_cache_dir or self.data_dir / "cache"
