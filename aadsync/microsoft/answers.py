"""Microsoft's answers as data (pure): Graph error bodies, token errors, Retry-After and backoff, network faults.

Each helper turns what Microsoft sent into a value or a `SyncError` whose sentence a manager can act on; they are
tested with canned JSON.
"""
from __future__ import annotations

import email.utils
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings

from aadsync.errors import SyncError, redact

# Error codes with which Graph says a stored delta token is gone and the sync state must be reset: "a 40X-series
# error with error codes such as syncStateNotFound", resyncRequired in Graph's error list; 410 Gone in any form.
DELTA_GONE_CODES = {"syncstatenotfound", "resyncrequired"}
TOKEN_ERRORS = {7000215: "wrong_secret", 7000222: "expired_secret", 700016: "unknown_client",
                90002: "unknown_tenant"}


@dataclass(frozen=True)
class RetryPolicy:
    """How long one Graph request may be retried: at most `max_retries` times and `max_seconds` in total."""

    max_retries: int = 5
    max_seconds: float = 120.0
    backoff_base: float = 1.0
    backoff_cap: float = 30.0

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(max_retries=settings.AAD_GRAPH_MAX_RETRIES, max_seconds=settings.AAD_GRAPH_MAX_RETRY_SECONDS,
                   backoff_base=getattr(settings, "AAD_GRAPH_BACKOFF_SECONDS", cls.backoff_base))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: whole or decimal seconds ("2.128") or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):  # NaN or infinite: ignore the header
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, policy: RetryPolicy, jitter: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
    return ceiling * jitter()


def token_error(result: dict, *, secret: str = "") -> SyncError:
    """The sentence for an error dict from msal's acquire_token_for_client."""
    codes = result.get("error_codes") or []
    description = str(result.get("error_description") or "")
    code = codes[0] if codes else None
    if code is None and description.startswith("AADSTS"):
        digits = description[6:].split(":", 1)[0]
        code = int(digits) if digits.isdigit() else None
    if code in TOKEN_ERRORS:
        return SyncError(TOKEN_ERRORS[code])
    label = f"AADSTS{code}" if code is not None else str(result.get("error") or "no error code")
    first_sentence = description.split(" Trace ID:", 1)[0].strip()
    if first_sentence and not first_sentence.startswith(label):
        first_sentence = f"{label}: {first_sentence}"
    detail = redact(first_sentence or label, secret)
    return SyncError("token_failed", detail=detail[:300])


def check_graph_response(status: int, body: bytes | str, *, page: int = 1, secret: str = "",
                         expect_list: bool = True) -> dict:
    """A Graph listing page as a dict with a `value` list (or, with expect_list=False, any JSON object), or the
    SyncError for its error body.

    Retryable statuses (429, 5xx) are the caller's business; this sees the final answer.
    """
    if 200 <= status < 300:
        try:
            data = json.loads(body)
        except ValueError:
            raise SyncError("malformed", page=page) from None
        if not isinstance(data, dict) or (expect_list and not isinstance(data.get("value"), list)):
            raise SyncError("malformed", page=page)
        return data
    try:
        error = json.loads(body).get("error") or {}
        if not isinstance(error, dict):
            error = {"code": str(error)}
    except (ValueError, AttributeError):
        error = {}
    code = str(error.get("code") or "no error code")
    if status == 410 or (400 <= status < 500 and code.lower() in DELTA_GONE_CODES):
        raise SyncError("delta_expired")
    if status == 403 and code == "Authorization_RequestDenied":
        raise SyncError("permission_missing")
    if status == 401:
        raise SyncError("token_rejected", detail=redact(code, secret)[:100])
    message = redact(str(error.get("message") or ""), secret)
    detail = f"{code}: {message}" if message else code
    raise SyncError("graph_failed", status=status, detail=detail[:300])


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def connection_error(exc: Exception, url: str) -> SyncError:
    """'Microsoft unreachable', saying why (refused, timed out, dropped, certificate) and where."""
    host = urlsplit(url).netloc or url
    if isinstance(exc, requests.exceptions.SSLError):
        why = "its TLS certificate could not be verified"
    elif isinstance(exc, requests.exceptions.Timeout):
        why = "no answer in time"
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError) or "aborted" in str(exc).lower():
        why = "the connection was dropped"
    else:
        why = "the connection failed"
    return SyncError("unreachable", host=host, why=why)


