"""A run's live progress for other processes, published from a small thread while the engine reads or writes."""
from __future__ import annotations

import threading
import time
from types import TracebackType

from aadsync.models import SyncRun
from aadsync.runs import sync_run_progress_set

PROGRESS_EVERY = 0.25  # seconds between progress updates for other processes


class ProgressPublisher:
    """Publishes a run's progress every PROGRESS_EVERY seconds while it changes: pages cost nothing extra (a cache
    write per page is not free), and progress stays live precisely while the engine waits for Microsoft.

    The figures: pages_read and users_read (read phase), users_applied (write phase), and while the engine waits
    for Microsoft, waiting_until (a Unix time) and waiting_why ("throttled", "HTTP 503", ...)."""

    def __init__(self, run: SyncRun):
        self.run = run
        self._latest: dict[str, object] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync-progress", daemon=True)

    def update(self, **figures: int) -> None:
        # A wait is not cleared here: pages are read ahead in another thread, so the engine applying page N says
        # nothing about the reader's wait for page N+1. A wait ends by itself (waiting_until is a time).
        with self._lock:
            self._latest = {**self._latest, **figures}

    def waiting(self, seconds: float, why: str) -> None:
        """The engine now waits `seconds` for Microsoft (a Retry-After, or a backoff); the page counts it down."""
        with self._lock:
            self._latest = {**self._latest, "waiting_until": time.time() + seconds, "waiting_why": why}

    def _loop(self) -> None:
        published: dict[str, object] | None = None
        while True:
            with self._lock:
                latest = self._latest
            if latest and latest != published:
                sync_run_progress_set(run=self.run, progress=latest)
                published = latest
            if self._stop.wait(PROGRESS_EVERY):
                return

    def __enter__(self) -> ProgressPublisher:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
