"""The one place for configuration. Only entrypoints build Settings (from the environment);
tests build it directly."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path("credo-data").absolute()


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'credo.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDO_", extra="ignore")

    environment: str = Field("development", description="development, test or production")
    database_url: str = Field(default_factory=default_database_url)
    admin_token: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 16 * 1024 * 1024
    db_pool_size: int = 10
    # 32 bytes, base64url: seals the organizations' signing keys. Required outside
    # development; in development one is generated into ./credo-data/master.key.
    master_key: str | None = None

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.environment != "development" and not self.master_key:
            raise ValueError(
                "CREDO_MASTER_KEY is required outside development: it seals signing keys"
            )
        token = self.admin_token
        if self.environment != "development" and token is not None and len(token) < 24:
            raise ValueError("CREDO_ADMIN_TOKEN must be at least 24 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
