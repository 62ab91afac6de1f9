"""Webhooks on the loop's events: signed, retried with backoff, only to allowed origins.

``WebhookDeliverer`` is a background job of ``mloop server``: it fans the events of the store's
outbox out to the configured webhooks and posts each one, recording every delivery.
``mloop.webhooks.signing`` documents the signature header and verifies it for receivers.
"""

from mloop.webhooks.deliverer import WebhookDeliverer, webhook_deliverer
from mloop.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, verify

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookDeliverer",
    "signature",
    "verify",
    "webhook_deliverer",
]
