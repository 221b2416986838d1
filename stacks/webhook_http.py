"""One signed webhook request, through the URL fetcher's address rules (sites/fetch.py):
never to loopback, private, link-local or metadata addresses; the connection goes to the
checked address, never re-resolving the name; redirects are not followed. No Django.

The signature: Herocool-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">,
keyed with the webhook's secret. A receiver recomputes it and refuses an old t.
"""
import hashlib
import hmac
import http.client
import json
import time

from sites.fetch import Deadline, FetchError, connect, network_error, resolve_checked

EXCERPT_BYTES = 500
USER_AGENT = "Herocool-Webhook/1"

__all__ = ["FetchError", "body_of", "post", "sign"]


def body_of(payload):
    """The exact bytes sent (and signed): compact JSON, keys sorted."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def sign(secret, body, timestamp):
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post(url, body, *, secret, event, delivery, timeout, allow_loopback=False):
    """POST `body` (bytes) signed with `secret`; (HTTP status, start of the body). Raises
    FetchError (a message for the user) when the address is refused or unreachable."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Herocool-Event": event,
        "Herocool-Delivery": delivery,
        "Herocool-Signature": sign(secret, body, int(time.time())),
    }
    with Deadline(timeout) as deadline:
        target, addresses = resolve_checked(url, allow_loopback)
        conn = response = None
        try:
            conn = connect(target, addresses, deadline)
            conn.request("POST", target.path, body=body, headers=headers)
            conn.live.settimeout(deadline.left())
            response = conn.getresponse()
            excerpt = response.read(EXCERPT_BYTES)
            deadline.left()  # raises if the watchdog cut the answer short
            return response.status, excerpt.decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise network_error(error, target, deadline) from None
        finally:
            for part in (response, conn):
                if part is not None:
                    part.close()
