"""Settings from the environment (BEIAN_ prefix) and `.env`; built once in cli and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_db_path() -> Path:
    return Path(user_data_dir("beian-bot")) / "beian-bot.db"


def _default_cache_dir() -> Path:
    return Path(user_cache_dir("beian-bot"))


class TelegramSettings(BaseModel):
    """Telegram channel settings (BEIAN_TELEGRAM__*)."""

    token: SecretStr | None = None
    # The Bot API root without `/bot`; tests point it at the emulator on 127.0.0.1.
    api_base_url: str = "https://api.telegram.org"
    webhook_secret: SecretStr | None = None
    # Seconds a stop waits for queued updates; what is left is kept for the next start.
    shutdown_grace: float = Field(default=10.0, ge=0)


class WecomSettings(BaseModel):
    """WeCom settings (BEIAN_WECOM__*): the AI bot's long connection, the group robot."""

    bot_id: str | None = None
    secret: SecretStr | None = None
    # The long-connection endpoint; tests point it at a local ws:// fake on 127.0.0.1.
    ws_url: str = "wss://openws.work.weixin.qq.com"
    # A group robot (群机器人): its webhook URL (with ?key=…, or the key apart) and the group
    # chat id whose reminders it posts.
    webhook_url: str | None = None
    webhook_key: SecretStr | None = None
    webhook_chat: str | None = None


class Settings(BaseSettings):
    """Everything configurable; tests pass values directly and `_env_file=None`."""

    model_config = SettingsConfigDict(
        env_prefix="BEIAN_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # Which backend `open_storage` opens; derived from `database_url` when that is set.
    storage: Literal["sqlite", "postgres"] = "sqlite"
    db_path: Path = Field(default_factory=_default_db_path)
    # BEIAN_DATABASE_URL: unset or `sqlite:///path` (SQLAlchemy's spelling: four slashes
    # for an absolute path) is SQLite at that path; `postgresql://...` is PostgreSQL.
    database_url: str | None = None
    # Fernet keys for personal values at rest, comma-separated (the first seals); unset: a key
    # file beside the database, made on first run (bot.storage.crypto).
    data_key: SecretStr | None = None
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    log_level: str = "WARNING"
    timezone: str = "Asia/Shanghai"
    bot_name: str = "备案助手"
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    wecom: WecomSettings = Field(default_factory=WecomSettings)

    @model_validator(mode="after")
    def _backend_from_url(self) -> Settings:
        """`database_url` decides the backend; `sqlite:///path` also sets `db_path`."""
        url = self.database_url
        if url is None or not url.strip():
            if self.storage == "postgres":
                raise ValueError("BEIAN_STORAGE=postgres needs BEIAN_DATABASE_URL")
            return self
        if url.startswith("sqlite:///"):
            self.storage = "sqlite"
            self.db_path = Path(url.removeprefix("sqlite:///"))
        elif url.startswith(("postgresql://", "postgres://")):
            self.storage = "postgres"
        else:
            raise ValueError(
                "BEIAN_DATABASE_URL must start with sqlite:/// or postgresql://, "
                f"not {url.split(':', 1)[0]!r}"
            )
        return self
