"""Webcare's application layer: settings, HTTP API, UI, webhooks, CLI and the wiring between them."""
