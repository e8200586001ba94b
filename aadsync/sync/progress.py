"""A run's live progress for other processes, published from a small thread while the engine works or waits."""
from __future__ import annotations

import threading
from types import TracebackType

from aadsync.models import SyncRun
from aadsync.runs import sync_run_progress_set

PROGRESS_EVERY = 0.25  # seconds between progress updates for other processes


class ProgressPublisher:
    """Publishes a run's progress every PROGRESS_EVERY seconds while it changes: pages cost nothing extra (a cache
    write per page is not free), and progress stays live precisely while the engine waits for Microsoft."""

    def __init__(self, run: SyncRun):
        self.run = run
        self._latest: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync-progress", daemon=True)

    def update(self, pages_read: int, users_applied: int) -> None:
        self._latest = (pages_read, users_applied)  # one atomic assignment, read by the thread

    def _loop(self) -> None:
        published = None
        while True:
            latest = self._latest
            if latest is not None and latest != published:
                sync_run_progress_set(run=self.run, pages_read=latest[0], users_applied=latest[1])
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
