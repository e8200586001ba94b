"""GET requests to Microsoft Graph: retries, timeouts, token renewal, and the listings a look-up reads.

Throttling (429, or 503/504 with a Retry-After) is waited out as Microsoft says ("wait the number of seconds
specified in the Retry-After header, then retry"), up to the run's own deadline when the client has one; other
failures (5xx, dropped connections) are retried a bounded number of times with exponential backoff and jitter.
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from aadsync.errors import SyncError
from aadsync.microsoft.answers import (
    RetryPolicy,
    backoff_delay,
    check_graph_response,
    connection_error,
    origin,
    parse_retry_after,
)
from aadsync.microsoft.tokens import TokenSource, http_timeout

logger = logging.getLogger(__name__)

USER_FIELDS = ("id", "userPrincipalName", "givenName", "surname", "mail", "businessPhones", "mobilePhone",
               "accountEnabled", "userType")
PAGE_SIZE = 999  # Graph's maximum $top for users
ID_BATCH = 15  # ids per `$filter=id in (...)`: Graph's limit for an `in` over ids
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_PAGES = 100_000  # 99.9 million users: a listing longer than that is a server that never stops


@dataclass
class Page:
    number: int
    users: list[dict]
    delta_link: str | None = None  # on the last page of a delta round


class GraphClient:
    """GET requests to Graph with retries, request timeouts, token renewal on 401, and a guard on where nextLinks
    point. `deadline` (a `clock()` value) is when the run must stop: throttling is waited out until then; without
    one, throttling is retried as boundedly as any other failure. `on_wait(seconds, why)` hears every wait."""

    def __init__(self, tokens: TokenSource, *, graph_url: str | None = None, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random, timeout: tuple[float, float] | None = None,
                 session: requests.Session | None = None, deadline: float | None = None,
                 on_wait: Callable[[float, str], None] | None = None):
        self.tokens = tokens
        self.graph_url = (graph_url or settings.GRAPH_API_URL).rstrip("/")
        self.retry = retry or RetryPolicy.from_settings()
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.timeout = timeout or http_timeout()
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cmportal-aadsync/1"})
        self.deadline = deadline
        self.on_wait = on_wait

    def close(self) -> None:
        self.session.close()

    def get_page(self, url: str, *, page: int = 1, headers: dict | None = None, expect_list: bool = True) -> dict:
        """One page, retried as the policy allows; raises SyncError with a manager's sentence."""
        secret = self.tokens.credentials.secret
        started = self.clock()
        attempt = 0
        renewed = False
        while True:
            token = self.tokens.access_token()
            retry_after = None
            failure: SyncError | None = None
            status: int | None = None
            try:
                response = self.session.get(url, headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                                            timeout=self.timeout)
                status = response.status_code
                body = response.content
            except requests.RequestException as exc:
                failure = connection_error(exc, url)
            else:
                if status == 401 and not renewed:
                    # Revoked or expired early: one fresh token, then the 401 is final.
                    self.tokens.renew()
                    renewed = True
                    continue
                if status not in RETRY_STATUSES:
                    return check_graph_response(status, body, page=page, secret=secret, expect_list=expect_list)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            attempt += 1
            delay = retry_after if retry_after is not None else backoff_delay(attempt, self.retry, self.jitter)
            now = self.clock()
            throttled = failure is None and (status == 429 or retry_after is not None)
            if throttled and self.deadline is not None:
                # Microsoft: wait the Retry-After, then retry until it succeeds; as long as the run may last.
                if now + delay > self.deadline:
                    raise SyncError("throttled_past_limit", seconds=f"{delay:.0f}",
                                    left=f"{max(0.0, self.deadline - now):.0f}")
            elif attempt > self.retry.max_retries or (now - started) + delay > self.retry.max_seconds:
                retries = attempt - 1
                if failure is not None:
                    raise failure
                if status == 429:
                    raise SyncError("throttled", retries=retries, seconds=f"{now - started:.1f}")
                raise SyncError("unavailable", status=status, retries=retries)
            why = "throttled" if throttled else (f"HTTP {status}" if failure is None else failure.details["why"])
            logger.warning("Graph page %d: %s; retry %d in %.2f s", page, why, attempt, delay)
            if self.on_wait is not None:
                self.on_wait(delay, why)
            self.sleep(delay)

    def user_pages(self, *, page_size: int = PAGE_SIZE) -> Iterator[Page]:
        """Every page of /users, 999 users a page, following @odata.nextLink verbatim until a page has none."""
        url = f"{self.graph_url}/users?$select={','.join(USER_FIELDS)}&$top={page_size}"
        return self.pages(url)

    def delta_link_from_now(self) -> str:
        """A deltaLink for the users' state as of now, with no users read ("sync from now": $deltatoken=latest):
        taken before a full listing, the changes made while it is read come again in the next round."""
        url = f"{self.graph_url}/users/delta?$select={','.join(USER_FIELDS)}&$deltatoken=latest"
        link = ""
        for page in self.pages(url, delta=True):
            link = page.delta_link or link
        return link

    def users_by_id(self, object_ids: list[str]) -> list[dict]:
        """The full records of these users (those that exist), `$filter=id in (...)` 15 ids a request: a changed
        user under Prefer: return=minimal carries only what changed, too little to create a directory row from."""
        found: list[dict] = []
        for start in range(0, len(object_ids), ID_BATCH):
            ids = ",".join(f"'{object_id}'" for object_id in object_ids[start:start + ID_BATCH])
            url = f"{self.graph_url}/users?$select={','.join(USER_FIELDS)}&$filter=id in ({ids})"
            for page in self.pages(url):
                found.extend(page.users)
        return found

    def delta_pages(self, delta_link: str | None = None, *, minimal: bool = False) -> Iterator[Page]:
        """A round of /users/delta: the initial round (every user) without a link, else the changes since the
        stored deltaLink. The last page carries the new deltaLink. `minimal` asks for changed properties only
        (Prefer: return=minimal): a property missing from a changed user then means "unchanged"."""
        if delta_link:
            self.check_link(delta_link)
            url = delta_link
        else:
            url = f"{self.graph_url}/users/delta?$select={','.join(USER_FIELDS)}"
        return self.pages(url, delta=True, headers={"Prefer": "return=minimal"} if minimal else None)

    def check_link(self, url: str) -> None:
        """Links from Microsoft are followed only to the configured Graph origin (the token goes with them)."""
        if not isinstance(url, str) or origin(url) != origin(self.graph_url):
            raise SyncError("foreign_link", host=urlsplit(str(url)).netloc or "no address")

    def pages(self, url: str, *, delta: bool = False, headers: dict | None = None) -> Iterator[Page]:
        """Every page from `url` on, following @odata.nextLink verbatim (only to Graph's own origin) until a page
        has none; a delta round must end with a deltaLink."""
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
            digest = hashlib.blake2b(next_url.encode(), digest_size=16).digest()
            if digest in seen or next_url == url or number >= MAX_PAGES:
                raise SyncError("nextlink_loop", page=number)
            seen.add(digest)
            url = next_url


