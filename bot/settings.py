"""Settings from the environment (and `.env`), exactly as INTERFACES.md names them."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TSUNAGARI_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///./var/tsunagari.db"
    redis_url: str | None = None
    redis_prefix: str = "tsunagari:"
    """Every Redis key starts with this, so several deployments (or test runs) share a server."""
    secret_key: str | None = Field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    timezone: str = "Asia/Tokyo"
    session_ttl: int = Field(default=86400, gt=0)
    stale_after_days: int = Field(default=365, gt=0)
    followup_after: int = Field(default=1800, ge=0)
    """Seconds of silence after a crisis reply before one gentle check-in is pushed (LINE,
    Telegram; the web chat cannot push); 0 turns the check-in off."""

    line_channel_secret: str | None = Field(default=None, repr=False)
    line_channel_access_token: str | None = Field(default=None, repr=False)
    line_api_base: str = "https://api.line.me"

    telegram_bot_token: str | None = Field(default=None, repr=False)
    telegram_webhook_secret: str | None = Field(default=None, repr=False)
    telegram_api_base: str = "https://api.telegram.org"

    public_url: str | None = None
    worker_lease_seconds: float = Field(default=10.0, gt=0)
    """How long an inbox partition stays with a worker that stopped renewing its lease (died):
    the longest an event of a dead worker waits for another to take it over."""
    worker_metrics_port: int | None = None
    """When set, `tsunagari worker` serves its Prometheus metrics (inbox depth, latency,
    retries, dead letters) on 127.0.0.1 at this port."""

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)

    @property
    def telegram_webhook_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_webhook_secret)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def secret(self) -> bytes:
        """The server secret: from the setting, else generated once into ./var/secret."""
        if self.secret_key:
            return self.secret_key.encode()
        return secret_file(VAR_DIR / "secret")


def secret_file(path: Path) -> bytes:
    """The secret kept in `path`, created once, readable by its owner only from the first byte.

    It is written into a private file of this process (created 0600, never chmod-ed later) and
    linked into place: `link` fails if the file exists, so when two processes start at once
    one secret wins, whole, and both use it; nobody ever reads a half-written secret."""
    if path.exists():
        return path.read_text().strip().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(mine, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: its secret is the one
            os.link(mine, path)
    finally:
        mine.unlink(missing_ok=True)
    return path.read_text().strip().encode()


def load_settings() -> Settings:
    return Settings()
