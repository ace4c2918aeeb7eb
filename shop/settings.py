"""Settings for the action-server process, read from the environment once.

Every environment variable the action server and the shop CLIs use is read here and
nowhere else; other modules take explicit arguments. Variables are prefixed ``SHOP_``
except ``DATABASE_URL``, which follows the common convention.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Process settings.

    Attributes:
        database_url: SQLAlchemy URL of the shop database. Default: SQLite file
            ``var/shop.db`` in the repository. PostgreSQL example:
            ``postgresql+psycopg://user@127.0.0.1:5432/shop``.
        db_workers: threads in the pool that runs blocking DB work for actions.
        action_timeout_s: seconds an action waits for a service call before it
            answers with a polite fallback.
        max_order_lookup_failures: wrong order-number/email pairs allowed in one
            conversation before the assistant stops trying and offers a human.
        search_page_size: product cards per search reply.
    """

    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'shop.db'}",
        validation_alias="DATABASE_URL",
    )
    db_workers: int = Field(default=8, ge=1, le=64)
    action_timeout_s: float = Field(default=10.0, gt=0)
    max_order_lookup_failures: int = Field(default=3, ge=1)
    search_page_size: int = Field(default=5, ge=1, le=20)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first call."""
    return Settings()
