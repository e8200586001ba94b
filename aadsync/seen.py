"""Object IDs a listing returned, spilled to a temporary file in sorted runs so memory stays bounded by a page.

Finding the users a complete listing no longer returns needs "every ID seen" at the end. Holding them in a set
grows with the tenant; instead the IDs of a few pages at a time are sorted and appended to a temp file as one
run of fixed 36-byte records, and at the end the runs are merged (heapq.merge, reading each run a few KB at a
time) against the directory's synced rows read in the same (bytewise) order. Memory: a buffer of 8,192 IDs (a few pages),
plus 4.6 KB per 8,192 IDs read.
"""
from __future__ import annotations

import array
import heapq
import os
import tempfile
from typing import Iterable, Iterator

RECORD = 36  # a GUID in its canonical text form
CHUNK = 128  # records read at a time from each run


class SeenIds:
    """IDs are buffered in memory up to `run_size` (a few pages) and then written as one sorted run."""

    def __init__(self, run_size: int = 8192):
        self._file = tempfile.TemporaryFile(prefix="aadsync-seen-")
        self._runs: list[tuple[int, int]] = []  # (byte offset, record count)
        self._end = 0
        self._buffer: list[str] = []
        self._run_size = run_size
        self.count = 0

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, object_ids: Iterable[str]) -> None:
        """The IDs of one page (canonical lower-case GUIDs)."""
        before = len(self._buffer)
        self._buffer.extend(object_ids)
        self.count += len(self._buffer) - before
        if len(self._buffer) >= self._run_size:
            self._flush()

    def _flush(self) -> None:
        ids = sorted(set(self._buffer))
        self._buffer = []
        if not ids:
            return
        data = "".join(ids).encode("ascii")
        assert len(data) == RECORD * len(ids), "object IDs must be canonical GUIDs"
        os.pwrite(self._file.fileno(), data, self._end)
        self._runs.append((self._end, len(ids)))
        self._end += len(data)

    def _run(self, offset: int, count: int) -> Iterator[str]:
        fd = self._file.fileno()
        for start in range(0, count, CHUNK):
            n = min(CHUNK, count - start)
            data = os.pread(fd, n * RECORD, offset + start * RECORD).decode("ascii")
            for i in range(n):
                yield data[i * RECORD:(i + 1) * RECORD]

    def sorted(self) -> Iterator[str]:
        """Every ID once, in bytewise order."""
        self._flush()
        last = None
        for object_id in heapq.merge(*(self._run(offset, count) for offset, count in self._runs)):
            if object_id != last:
                yield object_id
                last = object_id

    def missing(self, rows: Iterable[tuple[int, str]]) -> Iterator[int]:
        """The pks of `rows` ((pk, object_id) in bytewise object_id order) whose object_id was not seen."""
        seen = self.sorted()
        current = next(seen, None)
        for pk, object_id in rows:
            while current is not None and current < object_id:
                current = next(seen, None)
            if current != object_id:
                yield pk


class SpilledInts:
    """A list of integers (row pks) kept in a temporary file, read back in chunks."""

    def __init__(self, flush_every: int = 4096):
        self._file = tempfile.TemporaryFile(prefix="aadsync-pks-")
        self._buffer = array.array("q")
        self._flush_every = flush_every
        self.count = 0

    def append(self, value: int) -> None:
        self._buffer.append(value)
        self.count += 1
        if len(self._buffer) >= self._flush_every:
            self._flush()

    def _flush(self) -> None:
        self._buffer.tofile(self._file)
        self._buffer = array.array("q")

    def chunks(self, size: int) -> Iterator[list[int]]:
        self._flush()
        self._file.seek(0)
        while True:
            part = array.array("q")
            try:
                part.fromfile(self._file, size)
            except EOFError:  # the last, shorter chunk is still read into `part`
                pass
            if not part:
                return
            yield part.tolist()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpilledInts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
