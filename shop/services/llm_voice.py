"""The shop the LLM's words speak for (name, description, tone), from the settings:
what the actions and the console pass to the prompts. Built on each call (a few
string checks), so it follows the settings' own cache."""

from __future__ import annotations

from models.llm.shop_voice import ShopVoice
from shop.settings import Settings, get_settings


def shop_voice(settings: Settings) -> ShopVoice:
    """The :class:`ShopVoice` of ``settings`` (``SHOP_NAME``, ``SHOP_DESCRIPTION``, ``SHOP_TONE``)."""
    return ShopVoice(name=settings.shop_name, description=settings.shop_description, tone=settings.shop_tone)


def get_shop_voice() -> ShopVoice:
    """The voice of the process's settings (see :func:`shop_voice`)."""
    return shop_voice(get_settings())
