"""The one Settings object: read from WEBCARE_* environment variables once, at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting Webcare reads; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="WEBCARE_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./data/webcare.db"
    data_dir: Path = Path("./data")
    brand_name: str = Field(default="our team", description="Name the bot uses for the brand")
    encoder_backend: str = Field(default="torch", description="onnx (int8, fast) or torch")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    @field_validator("encoder_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in ("onnx", "torch"):
            raise ValueError("must be 'onnx' or 'torch'")
        return value

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"
