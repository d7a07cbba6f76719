"""Webhooks: payloads, dispatch of finished requests, delivery with retries, signing."""
