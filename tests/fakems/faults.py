"""Switchable faults: what the fake does wrong, on which endpoint, on which page, how many times."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

# Applied before the handler runs (the request never reaches it) ...
BEFORE = {"status", "drop", "latency"}
# ... or to the handler's response.
AFTER = {"malformed_json", "nextlink_loop", "drop_mid_body"}


@dataclass
class Fault:
    """One switch. `endpoint` is a route name or a tuple of them ("users", "users_delta", "token", ...; None: any),
    `page` a 1-based page of a paged listing (None: any request), `times` how often it fires (None: always)."""

    kind: str
    endpoint: str | tuple[str, ...] | None = None
    page: int | None = None
    times: int | None = None
    status: int = 503
    retry_after: str | None = None
    body: dict | None = None
    delay: float = 0.0
    hits: int = field(default=0)

    def matches(self, endpoint: str, page: int | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.endpoint is not None and endpoint not in (
                self.endpoint if isinstance(self.endpoint, tuple) else (self.endpoint,)):
            return False
        return self.page is None or self.page == page


class Faults:
    def __init__(self):
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, endpoint: str, page: int | None) -> list[Fault]:
        """The faults that fire for this request (counting it as a hit)."""
        fired = []
        with self._lock:
            for fault in self._faults:
                if fault.matches(endpoint, page):
                    fault.hits += 1
                    fired.append(fault)
        return fired

    def __iter__(self):
        return iter(list(self._faults))
