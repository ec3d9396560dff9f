"""Wiring of the channels: adapters and API base URLs from the settings, and the outbound HTTP client."""

from __future__ import annotations

import httpx

from app.settings import Settings
from bot.channels import make_adapters
from bot.channels.base import ChannelAdapter, ChannelSecrets


def channel_secrets(settings: Settings) -> ChannelSecrets:
    return ChannelSecrets(
        meta_app_secret=settings.meta_app_secret.get_secret_value(),
        meta_verify_token=settings.meta_verify_token.get_secret_value(),
        meta_page_token=settings.meta_page_token.get_secret_value(),
        whatsapp_token=settings.whatsapp_token.get_secret_value(),
        x_consumer_secret=settings.x_consumer_secret.get_secret_value(),
        x_access_token=settings.x_access_token.get_secret_value(),
        graph_version=settings.meta_graph_version,
    )


def adapters(settings: Settings) -> dict[str, ChannelAdapter]:
    return make_adapters(channel_secrets(settings))


def api_urls(settings: Settings) -> dict[str, str]:
    """Base URL per API a SendRequest names."""
    return {"graph": settings.meta_graph_url, "x": settings.x_api_url}


def http_client(settings: Settings) -> httpx.Client:
    """One pooled client per process for every outbound call."""
    timeout = httpx.Timeout(settings.send_timeout_seconds, connect=min(5.0, settings.send_timeout_seconds))
    # No pool limits of its own: the workers' send threads bound the calls in flight, and every connection
    # they use is kept alive (httpx's default keeps 20, so more sends at once opened a new connection, in
    # production a TLS handshake, for most calls).
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    return httpx.Client(timeout=timeout, limits=limits, headers={"user-agent": "webcare/0.1"})


def secrets_environment(secrets: ChannelSecrets) -> dict[str, str]:
    """The WEBCARE_* variables that give a server these secrets (for tests, demos and benchmarks)."""
    return {
        "WEBCARE_META_APP_SECRET": secrets.meta_app_secret,
        "WEBCARE_META_VERIFY_TOKEN": secrets.meta_verify_token,
        "WEBCARE_META_PAGE_TOKEN": secrets.meta_page_token,
        "WEBCARE_WHATSAPP_TOKEN": secrets.whatsapp_token,
        "WEBCARE_X_CONSUMER_SECRET": secrets.x_consumer_secret,
        "WEBCARE_X_ACCESS_TOKEN": secrets.x_access_token,
        "WEBCARE_META_GRAPH_VERSION": secrets.graph_version,
    }
