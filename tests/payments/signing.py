"""Build Stripe webhook deliveries signed like Stripe signs them (stdlib only, so
``bench/`` can import it without Django).

    body, headers = signed_delivery(event_payload("payment_intent.amount_capturable_updated", intent), secret)
    requests.post(url, data=body, headers=headers)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any


def signature_header(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` value for ``body``: ``t=<ts>,v1=<hmac-sha256>``."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def event_payload(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event envelope carrying ``obj`` (e.g. an intent as Stripe returns it)."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def signed_delivery(
    payload: dict[str, Any], secret: str, *, timestamp: int | None = None, forwarded_https: bool = True
) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` of one delivery, as Stripe would POST it."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(body, secret, timestamp=timestamp),
    }
    if forwarded_https:  # what the router adds in front of the web process
        headers["X-Forwarded-Proto"] = "https"
    return body, headers


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.payments.signing --secret whsec_... [--type T] [--intent pi_...]``
    prints one signed delivery as JSON ``{"body": ..., "headers": {...}}`` (valid for
    300 s: sign fresh ones for longer runs)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--type", default="payment_intent.amount_capturable_updated")
    parser.add_argument("--intent", default="pi_bench")
    args = parser.parse_args(argv)
    obj = {"id": args.intent, "object": "payment_intent", "status": "requires_capture", "metadata": {}}
    body, headers = signed_delivery(event_payload(args.type, obj), args.secret)
    json.dump({"body": body.decode(), "headers": headers}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
