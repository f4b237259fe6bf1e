"""The one place for configuration. Only entrypoints build Settings (from the environment);
tests build it directly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    # False behind pgbouncer in transaction pooling mode (before pgbouncer 1.21, whose
    # max_prepared_statements makes prepared statements safe there).
    db_prepared_statements: bool = True
    # 32 bytes, base64url: seals the organizations' signing keys. Required outside
    # development; in development one is generated into ./credo-data/master.key.
    master_key: str | None = None
    # E-mail to recipients (services/mailing.py). Without an SMTP host, e-mails are written
    # as .eml files into `mailbox_dir` instead (meant for development; a warning says so
    # anywhere else).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 30.0  # seconds, for each step of an SMTP conversation
    mail_from: str = "credo@localhost"  # envelope sender and From address
    mailbox_dir: Path = Field(default_factory=lambda: default_data_dir() / "mailbox")
    # `credo serve` and `credo demo` start one `credo worker` child process; turn it off
    # when workers run apart.
    worker_in_server: bool = True
    # How long a worker holds what it claimed (seconds): a batch of e-mails, a job step. A
    # worker that dies leaves its work to the next one once the lease ends.
    mail_lease: int = Field(900, ge=10, le=86_400)
    job_lease: int = Field(300, ge=10, le=86_400)
    # Seconds a server worker may take to answer its supervisor's health check (a starved
    # machine answers slowly; killing a slow worker only adds load), and that in-flight
    # requests get to finish after SIGTERM.
    healthcheck_timeout: int = Field(30, ge=1, le=600)
    graceful_shutdown_timeout: int = Field(30, ge=1, le=600)
    # Helper processes that sign a large bulk beside the server process (on a core left
    # free: signing is most of a bulk's time). Unset: one when the machine has two cores or
    # more; 0: sign in the server process alone.
    signing_processes: int | None = Field(None, ge=0, le=64)
    # Prometheus metrics at /metrics (operator token); off only to measure what they cost.
    metrics: bool = True
    # Log lines: `json` (one object a line), `text`, or `auto` (text for a terminal in
    # development, JSON otherwise).
    log_format: Literal["auto", "json", "text"] = "auto"
    # Recipients are reminded this many days before their credential expires (0: never).
    expiry_reminder_days: int = Field(30, ge=0, le=365)
    # Webhook endpoints on loopback, private, link-local or reserved addresses are refused
    # unless this is on (an endpoint on the same network as a self-hosted server).
    webhook_allow_private_networks: bool = False
    # `fast` hashes passwords with cheap argon2 parameters: for test runs, never production.
    password_hashing: Literal["strong", "fast"] = "strong"
    # Engagement analytics: credential page views, downloads, shares, verifications
    # (services/engagement). Off: nothing is counted (the dashboard shows issued and e-mail
    # figures only).
    engagement: bool = True
    # Certificate authorities (a PEM file) trusted for HTTPS to organizations' OpenID
    # Providers, instead of the system's: a provider behind a private CA.
    sso_ca_bundle: Path | None = None
    # OpenID Providers on loopback, private, link-local or reserved addresses are refused
    # unless this is on (a provider on the same network as a self-hosted server).
    sso_allow_private_networks: bool = False

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.environment != "development" and not self.master_key:
            raise ValueError(
                "CREDO_MASTER_KEY is required outside development: it seals signing keys"
            )
        token = self.admin_token
        if self.environment != "development" and token is not None and len(token) < 24:
            raise ValueError("CREDO_ADMIN_TOKEN must be at least 24 characters")
        if self.environment == "production" and self.password_hashing != "strong":
            raise ValueError("CREDO_PASSWORD_HASHING=fast is for tests, not production")
        if "@" not in self.mail_from:
            raise ValueError("CREDO_MAIL_FROM must be an e-mail address")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
