"""When to retry a remote read, and how long to wait.

At Common Crawl's scale connections reset, bodies end early and servers answer 503/429 as a
matter of course, so these are retried with exponential backoff and jitter (spreading many
workers' retries apart). A missing object or a denied request is permanent: retrying would
only delay the error.

Defaults can be changed without a config key (tests and operators): LLAMAPIPE_IO_RETRIES,
LLAMAPIPE_IO_BACKOFF_S (the first wait), LLAMAPIPE_IO_TIMEOUT_S (per connection/read).
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import ssl
import time
import urllib.error
from dataclasses import dataclass

#: HTTP statuses worth retrying: throttling and server-side failures.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """A failure the next attempt may not meet (raised inside llamapipe.io only)."""


class PermanentError(Exception):
    """A failure every attempt will meet: not found, forbidden (raised inside llamapipe.io)."""


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls, retries: int | None = None) -> RetryPolicy:
        env = os.environ
        return cls(
            retries=retries if retries is not None else int(env.get("LLAMAPIPE_IO_RETRIES", 5)),
            backoff_s=float(env.get("LLAMAPIPE_IO_BACKOFF_S", 1.0)),
            timeout_s=float(env.get("LLAMAPIPE_IO_TIMEOUT_S", 60.0)),
        )

    def wait(self, attempt: int) -> None:
        """Sleep before retry number `attempt` (0-based): backoff * 2^attempt * U(0.5, 1.5)."""
        delay = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        time.sleep(delay * random.uniform(0.5, 1.5))


def is_transient(exc: BaseException) -> bool:
    """Whether an exception from a read or connect is worth another attempt."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, PermanentError | FileNotFoundError | PermissionError | IsADirectoryError):
        return False
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in TRANSIENT_STATUS
    if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
        getattr(exc, "reason", None), ssl.SSLCertVerificationError
    ):
        return False  # a certificate problem does not go away by asking again
    if isinstance(
        exc,
        ConnectionError
        | TimeoutError
        | socket.timeout
        | http.client.IncompleteRead
        | http.client.RemoteDisconnected
        | http.client.BadStatusLine
        | ssl.SSLError
        | urllib.error.URLError,
    ):
        return True
    name = type(exc).__name__
    # aiohttp/botocore errors, matched by name so that neither is imported here.
    if name in {
        "ClientPayloadError",
        "ServerDisconnectedError",
        "ClientOSError",
        "ServerTimeoutError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ResponseStreamingError",
        "IncompleteReadError",
    }:
        return True
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    if isinstance(status, int) and status in TRANSIENT_STATUS:
        return True
    # s3fs/gcsfs wrap throttling as OSError with the HTTP reason in the text.
    text = str(exc)
    return isinstance(exc, OSError) and any(
        word in text for word in ("SlowDown", "Throttl", "503", "500 ", "ServiceUnavailable")
    )
