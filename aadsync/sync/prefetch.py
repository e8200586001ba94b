"""Run an iterator in a background thread a few items ahead of its consumer (Graph reads overlap database work)."""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass

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
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who decides
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
