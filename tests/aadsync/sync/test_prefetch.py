"""The prefetcher (aadsync/sync/prefetch.py): a bounded producer thread ahead of its consumer."""
import time

import pytest

from aadsync.errors import SyncError
from aadsync.sync.prefetch import Prefetcher


def test_prefetcher_fetches_ahead_while_the_consumer_works():
    produced = []

    def slow_pages():
        for n in range(4):
            time.sleep(0.05)
            produced.append(n)
            yield n

    started = time.monotonic()
    with Prefetcher(slow_pages()) as pages:
        for _ in pages:
            time.sleep(0.05)  # "apply" as long as a fetch takes
    elapsed = time.monotonic() - started

    assert produced == [0, 1, 2, 3]
    assert elapsed < 0.36  # sequential would take 8 x 0.05 = 0.4 s; overlapped about 5 x 0.05


def test_prefetcher_bounds_the_producer():
    produced = []

    def pages():
        for n in range(100):
            produced.append(n)
            yield n

    with Prefetcher(pages()) as prefetched:
        iterator = iter(prefetched)
        assert next(iterator) == 0
        time.sleep(0.2)
        assert len(produced) <= 3  # one consumed, one waiting, one being put


def test_prefetcher_raises_the_producers_error_in_the_consumer():
    def pages():
        yield 1
        raise SyncError("malformed", page=2)

    with pytest.raises(SyncError), Prefetcher(pages()) as prefetched:
        assert list(prefetched) == [1]
