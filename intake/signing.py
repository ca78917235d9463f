"""How callers prove a request comes from them: HMAC-SHA256 with a shared secret, timestamped.

The caller sends two headers:

    X-Onboarding-Timestamp: 1767348000                  (Unix seconds, when it signed)
    X-Onboarding-Signature: sha256=<hex digest>

where the digest is HMAC-SHA256(secret, b"<timestamp>." + raw body). The timestamp is part
of what is signed, so a captured request cannot be replayed later with a fresh one; a
timestamp further than the window from now is refused. The comparison is constant-time.

`python -m intake.signing FILE` prints both headers for FILE's bytes with $INTAKE_SECRET,
in the form `curl -H @-` reads.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import time
from pathlib import Path

TIMESTAMP_HEADER = "X-Onboarding-Timestamp"
SIGNATURE_HEADER = "X-Onboarding-Signature"
PREFIX = "sha256="


class Unauthenticated(Exception):
    """The request is not signed with the shared secret (or not recently enough)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers that authenticate `body`, signed now."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, body: bytes, timestamp: str | None, sent: str | None, window: float, now: float) -> None:
    """Raise Unauthenticated, saying which check failed (never echoing what was sent)."""
    if not timestamp or not sent:
        raise Unauthenticated(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        at = int(timestamp)
    except ValueError:
        raise Unauthenticated(f"{TIMESTAMP_HEADER}: expected Unix seconds") from None
    if abs(now - at) > window:
        raise Unauthenticated(f"{TIMESTAMP_HEADER}: stale or future timestamp (allowed skew {window:.0f}s)")
    if not hmac.compare_digest(signature(secret, at, body).encode(), sent.strip().encode()):
        raise Unauthenticated(f"{SIGNATURE_HEADER}: signature does not match the body")


def main(argv: list[str]) -> int:
    secret = os.environ.get("INTAKE_SECRET")
    if len(argv) != 1 or not secret:
        print("usage: INTAKE_SECRET=... python -m intake.signing FILE   (prints the two headers)", file=sys.stderr)
        return 2
    for name, value in headers(secret, Path(argv[0]).read_bytes()).items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
