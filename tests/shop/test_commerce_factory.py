"""The commerce settings (shop.settings) and the platform factory (shop.commerce.factory):
a chosen backend must have its settings (the error names the variables), the factory
builds the real connectors from them with the chat's request budget, never prints a
secret, and refuses unknown backends and malformed values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shop.commerce.errors import PlatformConfigError
from shop.commerce.factory import CHAT_BUDGET, build_platform, platform_from_settings
from shop.commerce.platform import CommercePlatform
from shop.settings import Settings

SHOPIFY = {"commerce_backend": "shopify", "shopify_domain": "ridgeline-test.myshopify.com",
           "shopify_token": "shpat_0123456789abcdef", "shopify_webhook_secret": "whsec-0123456789"}
WOO = {"commerce_backend": "woocommerce", "woocommerce_url": "https://shop.example.com",
       "woocommerce_key": "ck_" + "a" * 40, "woocommerce_secret": "cs_" + "b" * 40,
       "woocommerce_webhook_secret": "a-webhook-secret-of-32-characters"}


def test_builtin_is_the_default_and_has_no_platform() -> None:
    settings = Settings()
    assert settings.commerce_backend == "builtin" and platform_from_settings(settings) is None


@pytest.mark.parametrize(("values", "named"), [
    ({"commerce_backend": "shopify"},
     ["SHOP_SHOPIFY_DOMAIN", "SHOP_SHOPIFY_TOKEN (or SHOP_SHOPIFY_CLIENT_ID)", "SHOP_SHOPIFY_WEBHOOK_SECRET"]),
    ({**SHOPIFY, "shopify_token": "  "}, ["SHOP_SHOPIFY_TOKEN (or SHOP_SHOPIFY_CLIENT_ID)"]),
    ({"commerce_backend": "woocommerce", "woocommerce_url": "https://shop.example.com"},
     ["SHOP_WOOCOMMERCE_KEY", "SHOP_WOOCOMMERCE_SECRET", "SHOP_WOOCOMMERCE_WEBHOOK_SECRET"]),
])
def test_a_chosen_backend_without_its_settings_is_refused_naming_them(values: dict, named: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    message = str(caught.value)
    assert f"SHOP_COMMERCE_BACKEND={values['commerce_backend']} needs {', '.join(named)}" in message
    assert "SHOP_COMMERCE_BACKEND=builtin" in message


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValidationError, match="builtin"):
        Settings(commerce_backend="magento")
    with pytest.raises(PlatformConfigError, match="use one of builtin, shopify, woocommerce"):
        build_platform(backend="magento")


def test_shopify_from_settings_with_the_chat_budget() -> None:
    platform = platform_from_settings(Settings(**SHOPIFY), budget=CHAT_BUDGET)
    assert isinstance(platform, CommercePlatform) and platform.name == "shopify" and platform.supports_returns
    assert "shpat_" not in repr(platform) and "whsec" not in repr(platform)
    assert CHAT_BUDGET.worst_case_s() == 12.0


def test_shopify_with_a_client_id_instead_of_a_token() -> None:
    platform = platform_from_settings(Settings(**{**SHOPIFY, "shopify_token": "", "shopify_client_id": "client-0123"}))
    assert platform is not None and platform.name == "shopify"


def test_woocommerce_from_settings() -> None:
    platform = platform_from_settings(Settings(**WOO))
    assert isinstance(platform, CommercePlatform) and platform.name == "woocommerce"
    assert not platform.supports_returns  # refunds from chat only when the shop allows them
    refunds = platform_from_settings(Settings(**WOO, woocommerce_allow_refunds=True), budget=CHAT_BUDGET)
    assert refunds is not None and refunds.supports_returns
    assert "ck_" not in repr(refunds) or "ck_…" in repr(refunds)


@pytest.mark.parametrize("values", [
    {**SHOPIFY, "shopify_domain": "https://ridgeline.example.com"},  # a custom domain, with a scheme
    {**SHOPIFY, "shopify_webhook_secret": "has spaces in it"},
    {**WOO, "woocommerce_url": "http://shop.example.com"},  # keys over plain http
    {**WOO, "woocommerce_key": "not-a-key"},
])
def test_malformed_values_are_refused_by_the_connector(values: dict) -> None:
    with pytest.raises(PlatformConfigError):
        platform_from_settings(Settings(**values))


@pytest.mark.parametrize(("query_auth", "how"), [(False, "basic"), (True, "query")])
def test_woocommerce_with_the_chat_budget_authenticates_as_configured(query_auth: bool, how: str) -> None:
    from tests.fakes.woocommerce_server import KEY, SECRET, WEBHOOK_SECRET, FakeWooCommerce

    with FakeWooCommerce() as fake:
        fake.add_product("Trail Mug", 1299)
        platform = build_platform(backend="woocommerce", woocommerce_url=fake.url, woocommerce_key=KEY,
                                  woocommerce_secret=SECRET, woocommerce_webhook_secret=WEBHOOK_SECRET,
                                  woocommerce_query_auth=query_auth, budget=CHAT_BUDGET)
        assert platform is not None
        assert [p.title for p in platform.iter_products()] == ["Trail Mug"]
        assert {seen.auth for seen in fake.seen} == {how}
