"""Microsoft Graph through MSAL: one confidential-client app per company's settings, and the paged /users listing.

The pure helpers (`check_graph_response`, `token_error`, `parse_retry_after`, `backoff_delay`) turn Microsoft's
answers into data or `SyncError` sentences; they are tested with canned JSON. `GraphClient` takes `sleep`, `clock`
and `jitter` as parameters so that the retry policy is tested without waiting.
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import queue
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings

from aadsync.errors import SyncError, redact

logger = logging.getLogger(__name__)

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
USER_FIELDS = ("id", "userPrincipalName", "givenName", "surname", "mail", "businessPhones", "mobilePhone",
               "accountEnabled", "userType")
PAGE_SIZE = 999  # Graph's maximum $top for users
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Hosts msal knows; anything else (a fake, a sovereign proxy) needs instance_discovery=False.
MICROSOFT_AUTHORITY_HOSTS = {"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                             "login.partner.microsoftonline.cn", "login.windows.net", "login.microsoft.com",
                             "sts.windows.net"}
TOKEN_ERRORS = {7000215: "wrong_secret", 7000222: "expired_secret", 700016: "unknown_client",
                90002: "unknown_tenant"}
MAX_PAGES = 100_000  # 99.9 million users: a listing longer than that is a server that never stops


@dataclass(frozen=True)
class Credentials:
    tenant_id: str
    client_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    """How long one Graph request may be retried: at most `max_retries` times and `max_seconds` in total."""

    max_retries: int = 5
    max_seconds: float = 120.0
    backoff_base: float = 1.0
    backoff_cap: float = 30.0

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(max_retries=getattr(settings, "AAD_GRAPH_MAX_RETRIES", cls.max_retries),
                   max_seconds=getattr(settings, "AAD_GRAPH_MAX_RETRY_SECONDS", cls.max_seconds),
                   backoff_base=getattr(settings, "AAD_GRAPH_BACKOFF_SECONDS", cls.backoff_base))


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds for every request to Microsoft."""
    return tuple(getattr(settings, "AAD_HTTP_TIMEOUT", (10.0, 60.0)))


# Pure helpers ----------------------------------------------------------------------------------------------

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
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite: ignore the header
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


def check_graph_response(status: int, body: bytes | str, *, page: int = 1, secret: str = "") -> dict:
    """A Graph listing page as a dict with a `value` list, or the SyncError for its error body.

    Retryable statuses (429, 5xx) are the caller's business; this sees the final answer.
    """
    if 200 <= status < 300:
        try:
            data = json.loads(body)
        except ValueError:
            raise SyncError("malformed", page=page) from None
        if not isinstance(data, dict) or not isinstance(data.get("value"), list):
            raise SyncError("malformed", page=page)
        return data
    try:
        error = json.loads(body).get("error") or {}
        if not isinstance(error, dict):
            error = {"code": str(error)}
    except (ValueError, AttributeError):
        error = {}
    code = str(error.get("code") or "no error code")
    if status == 410 or (status == 400 and code.lower() == "syncstatenotfound"):
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


# Tokens ----------------------------------------------------------------------------------------------------

_apps: OrderedDict[tuple, msal.ConfidentialClientApplication] = OrderedDict()
_apps_lock = threading.Lock()
MAX_APPS = 256


def _app_key(credentials: Credentials, authority_host: str) -> tuple:
    # The secret takes part only as a digest: a new secret is a new app (and a new token).
    digest = hashlib.sha256(credentials.secret.encode()).hexdigest()
    return (authority_host, credentials.tenant_id.lower(), credentials.client_id.lower(), digest)


def msal_apps_clear() -> None:
    """Forget every cached app (their tokens and msal's replay cache of recent errors)."""
    with _apps_lock:
        _apps.clear()


class TokenSource:
    """Access tokens for Graph from an msal ConfidentialClientApplication, reused while valid.

    Apps are cached per (authority, tenant, client ID, secret digest) for the process, so a worker running many
    look-ups asks Microsoft for a token about once an hour per company.
    """

    def __init__(self, credentials: Credentials, *, authority_host: str | None = None,
                 timeout: tuple[float, float] | None = None):
        self.credentials = credentials
        self.authority_host = (authority_host or settings.AAD_AUTHORITY_HOST).rstrip("/")
        self.timeout = timeout or http_timeout()
        self._key = _app_key(credentials, self.authority_host)

    def __repr__(self) -> str:
        return f"TokenSource(tenant={self.credentials.tenant_id!r}, client={self.credentials.client_id!r})"

    def _app(self) -> msal.ConfidentialClientApplication:
        with _apps_lock:
            app = _apps.get(self._key)
            if app is not None:
                _apps.move_to_end(self._key)
                return app
        host = urlsplit(self.authority_host).hostname or ""
        authority = f"{self.authority_host}/{self.credentials.tenant_id}"
        try:
            app = msal.ConfidentialClientApplication(
                self.credentials.client_id,
                client_credential=self.credentials.secret,
                authority=authority,
                instance_discovery=None if host in MICROSOFT_AUTHORITY_HOSTS else False,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise connection_error(exc, self.authority_host) from None
        except msal.exceptions.MsalServiceError as exc:
            raise SyncError("login_unavailable", detail=redact(str(exc), self.credentials.secret)[:100]) from None
        except ValueError as exc:
            # msal raises ValueError for a 4xx on the tenant's OIDC discovery (an unknown tenant), and for an
            # authority it cannot use (not https, malformed).
            if "authority configuration" in str(exc) or "OIDC Discovery" in str(exc):
                raise SyncError("unknown_tenant") from None
            raise SyncError("bad_authority", host=self.authority_host) from None
        with _apps_lock:
            _apps[self._key] = app
            while len(_apps) > MAX_APPS:
                _apps.popitem(last=False)
        return app

    def access_token(self) -> str:
        app = self._app()
        try:
            result = app.acquire_token_for_client(scopes=GRAPH_SCOPES)
        except requests.RequestException as exc:
            raise connection_error(exc, self.authority_host) from None
        except msal.exceptions.MsalServiceError as exc:
            raise SyncError("login_unavailable", detail=redact(str(exc), self.credentials.secret)[:100]) from None
        except ValueError:  # a token response that is not JSON
            raise SyncError("login_unavailable", detail="the answer was not valid JSON") from None
        if "access_token" not in result:
            error = token_error(result, secret=self.credentials.secret)
            logger.warning("Token request for tenant %s, client %s failed: %s", self.credentials.tenant_id,
                           self.credentials.client_id, error.code)
            raise error
        return result["access_token"]

    def renew(self) -> None:
        """Drop the cached app, so the next access_token() is a new one from Microsoft."""
        with _apps_lock:
            _apps.pop(self._key, None)


# Graph -----------------------------------------------------------------------------------------------------

@dataclass
class Page:
    number: int
    users: list[dict]
    delta_link: str | None = None  # on the last page of a delta round


class GraphClient:
    """GET requests to Graph with retries (Retry-After, else exponential backoff with jitter; bounded in count
    and in total time), request timeouts, token renewal on 401, and a guard on where nextLinks point."""

    def __init__(self, tokens: TokenSource, *, graph_url: str | None = None, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random, timeout: tuple[float, float] | None = None,
                 session: requests.Session | None = None):
        self.tokens = tokens
        self.graph_url = (graph_url or settings.GRAPH_API_URL).rstrip("/")
        self.retry = retry or RetryPolicy.from_settings()
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.timeout = timeout or http_timeout()
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cmportal-aadsync/1"})
        self.requests_made = 0

    def close(self) -> None:
        self.session.close()

    def get_page(self, url: str, *, page: int = 1, headers: dict | None = None) -> dict:
        """One page, retried as the policy allows; raises SyncError with a manager's sentence."""
        secret = self.tokens.credentials.secret
        started = self.clock()
        attempt = 0
        renewed = False
        while True:
            token = self.tokens.access_token()
            retry_after = None
            try:
                self.requests_made += 1
                response = self.session.get(url, headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                                            timeout=self.timeout)
                status = response.status_code
                body = response.content
            except requests.RequestException as exc:
                failure = connection_error(exc, url)
                status = None
            else:
                if status == 401 and not renewed:
                    # Revoked or expired early: one fresh token, then the 401 is final.
                    self.tokens.renew()
                    renewed = True
                    continue
                if status not in RETRY_STATUSES:
                    return check_graph_response(status, body, page=page, secret=secret)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                failure = None
            attempt += 1
            delay = retry_after if retry_after is not None else backoff_delay(attempt, self.retry, self.jitter)
            spent = self.clock() - started
            if attempt > self.retry.max_retries or spent + delay > self.retry.max_seconds:
                retries = attempt - 1
                if failure is not None:
                    raise failure
                if status == 429:
                    raise SyncError("throttled", retries=retries, seconds=f"{spent:.1f}")
                raise SyncError("unavailable", status=status, retries=retries)
            logger.warning("Graph page %d: %s; retry %d of %d in %.2f s", page,
                           f"HTTP {status}" if status else failure.details.get("why"), attempt,
                           self.retry.max_retries, delay)
            self.sleep(delay)

    def user_pages(self, *, page_size: int = PAGE_SIZE) -> Iterator[Page]:
        """Every page of /users, following @odata.nextLink verbatim until a page has none."""
        url = f"{self.graph_url}/users?$select={','.join(USER_FIELDS)}&$top={page_size}"
        return self._pages(url)

    def delta_pages(self, delta_link: str | None = None, *, minimal: bool = False) -> Iterator[Page]:
        """A round of /users/delta: the initial round (every user) without a link, else the changes since the
        stored deltaLink. The last page carries the new deltaLink. `minimal` asks for changed properties only
        (Prefer: return=minimal): a property missing from a changed user then means "unchanged"."""
        if delta_link:
            self.check_link(delta_link)
            url = delta_link
        else:
            url = f"{self.graph_url}/users/delta?$select={','.join(USER_FIELDS)}"
        return self._pages(url, delta=True, headers={"Prefer": "return=minimal"} if minimal else None)

    def check_link(self, url: str) -> None:
        """Links from Microsoft are followed only to the configured Graph origin (the token goes with them)."""
        if not isinstance(url, str) or origin(url) != origin(self.graph_url):
            raise SyncError("foreign_link", host=urlsplit(str(url)).netloc or "no address")

    def _pages(self, url: str, *, delta: bool = False, headers: dict | None = None) -> Iterator[Page]:
        seen: set[bytes] = set()
        number = 0
        while url:
            number += 1
            data = self.get_page(url, page=number, headers=headers)
            next_url = data.get("@odata.nextLink")
            if not next_url:
                delta_link = data.get("@odata.deltaLink") if delta else None
                if delta:
                    if not delta_link:  # a round that ends without a deltaLink cannot be continued
                        raise SyncError("malformed", page=number)
                    self.check_link(delta_link)
                yield Page(number=number, users=data["value"], delta_link=delta_link)
                return
            yield Page(number=number, users=data["value"])
            self.check_link(next_url)
            # Digests of the links read so far: a few bytes per page, to spot a server that loops.
            digest = hashlib.sha1(next_url.encode()).digest()
            if digest in seen or next_url == url or number >= MAX_PAGES:
                raise SyncError("nextlink_loop", page=number)
            seen.add(digest)
            url = next_url


# Prefetch ---------------------------------------------------------------------------------------------------

_DONE = object()


class Prefetcher:
    """Runs an iterator in a background thread, `depth` items ahead of the consumer (HTTP overlaps DB work).

    At most depth + 2 items exist at once: one being fetched, `depth` waiting, one being consumed. An exception
    in the iterator is raised in the consumer. Leaving the `with` block stops the thread.
    """

    def __init__(self, iterable: Iterable, *, depth: int = 1, name: str = "graph-prefetch"):
        self._iterable = iterable
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Prefetcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._iterable:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, who decides
            self._put(_Failure(exc))
            return
        self._put(_DONE)

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item


@dataclass
class _Failure:
    exc: BaseException
