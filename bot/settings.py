"""Settings of the Rasa server process, read from the environment once.

The Rasa environment pins pydantic 1, so this uses ``pydantic.BaseSettings``.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseSettings, Field


class BotSettings(BaseSettings):
    """Attributes:
    identity_secret: shared secret the shop's pages sign customer ids with
        (HMAC-SHA256, hex). Unset: customer ids from pages are always ignored.
    max_message_chars: longest message passed on to the assistant; longer ones are
        answered with a request to shorten them. Default 2,000.
    """

    identity_secret: str = Field(default="", env="SHOP_IDENTITY_SECRET")
    max_message_chars: int = Field(default=2000, env="SHOP_MAX_MESSAGE_CHARS")


@lru_cache(maxsize=1)
def get_bot_settings() -> BotSettings:
    return BotSettings()
