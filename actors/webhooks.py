"""Standard Webhooks signatures: what a receiver checks, computed and verified in one place.

Why a module of its own: the delivery actor signs every attempt, the tests and the docs verify
signatures the way a receiver does, and the panel generates secrets; all three must agree on
the bytes. The scheme is the Standard Webhooks one (standard-webhooks/standard-webhooks,
``spec/standard-webhooks.md``)::

    webhook-id         msg_<hex>            the same on every retry (the receiver's dedup key)
    webhook-timestamp  <epoch seconds>      fresh on every attempt
    webhook-signature  v1,<base64 sig>      HMAC-SHA256(key, "{id}.{timestamp}.{body}"), fresh too

The secret is ``whsec_`` + base64 of the key bytes; a receiver may list several signatures
(space separated) while a secret rotates, and compares in constant time. Pure: stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping

from actors.errors import InvalidValueError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
#: Random key bytes of a generated secret.
SECRET_BYTES = 24
#: Seconds a receiver accepts between the timestamp and its clock (replay window).
DEFAULT_TOLERANCE_S = 300
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"


def new_secret() -> str:
    """A fresh ``whsec_...`` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A fresh message id (``msg_`` + 32 hex digits)."""
    return "msg_" + uuid.uuid4().hex


def secret_key(secret: str, *, field: str = "secret") -> bytes:
    """The HMAC key of a ``whsec_`` secret; `InvalidValueError` naming *field* when malformed."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidValueError(f"{field}: a webhook secret starts with {SECRET_PREFIX!r} followed by base64 "
                                "(leave it empty to have one generated)", field=field, value="***")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidValueError(f"{field}: the part after {SECRET_PREFIX!r} is not base64", field=field,
                                value="***") from None
    if len(key) < 16:
        raise InvalidValueError(f"{field}: the key is {len(key)} bytes; at least 16 are needed", field=field,
                                value="***")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">``."""
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt (no signature when *secret* is empty: an unsigned target)."""
    out = {ID_HEADER: message_id, TIMESTAMP_HEADER: str(int(timestamp))}
    if secret:
        out[SIGNATURE_HEADER] = sign(secret, message_id, timestamp, body)
    return out


def verify(secret: str, received: Mapping[str, str], body: bytes, *, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> str:
    """Check a delivery as a receiver does; return its message id.

    *received* maps header names (any case) to values. Raises `InvalidValueError` naming the
    header that is missing, stale or does not match.
    """
    lower = {name.lower(): value for name, value in received.items()}
    for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        if not lower.get(name):
            raise InvalidValueError(f"{name}: missing", field=name)
    message_id, raw_ts = lower[ID_HEADER], lower[TIMESTAMP_HEADER]
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise InvalidValueError(f"{TIMESTAMP_HEADER}: not an integer, got {raw_ts[:20]!r}",
                                field=TIMESTAMP_HEADER) from None
    if abs(now - timestamp) > tolerance_s:
        raise InvalidValueError(f"{TIMESTAMP_HEADER}: {timestamp} is more than {tolerance_s:g}s from now",
                                field=TIMESTAMP_HEADER, value=timestamp)
    expected = sign(secret, message_id, timestamp, body).encode("ascii")
    for candidate in lower[SIGNATURE_HEADER].split():
        if hmac.compare_digest(candidate.encode("latin-1", "replace"), expected):
            return message_id
    raise InvalidValueError(f"{SIGNATURE_HEADER}: no signature matches", field=SIGNATURE_HEADER)


def masked(secret: str) -> str:
    """A secret as pages show it: ``whsec_…`` and its last four characters."""
    if not secret:
        return ""
    return f"{SECRET_PREFIX}\u2026{secret[-4:]}" if len(secret) > len(SECRET_PREFIX) + 8 else SECRET_PREFIX + "\u2026"
