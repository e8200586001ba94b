"""A run's pages on disk between reading Microsoft and writing the directory, so the database never waits on Graph.

Pages are written as they arrive (marshal, length-prefixed) and read back in order in the write phase: memory stays
bounded by a page, and the directory's write transaction lasts only as long as the database work itself.
"""
from __future__ import annotations

import marshal
import struct
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import Any

_LENGTH = struct.Struct("<I")


class Spool:
    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="aadsync-spool-")  # noqa: SIM115 - closed by __exit__
        self.pages = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._file.close()

    def write(self, record: Any) -> None:
        """One page: builtin values only (tuples, lists, dicts, str, int, bool, None)."""
        data = marshal.dumps(record)
        self._file.write(_LENGTH.pack(len(data)))
        self._file.write(data)
        self.pages += 1

    def clear(self) -> None:
        """Forget every page written so far (a round that has to be read again from the start)."""
        self._file.seek(0)
        self._file.truncate()
        self.pages = 0

    def __iter__(self) -> Iterator[Any]:
        self._file.flush()
        self._file.seek(0)
        while True:
            head = self._file.read(_LENGTH.size)
            if not head:
                return
            (length,) = _LENGTH.unpack(head)
            yield marshal.loads(self._file.read(length))  # noqa: S302 - our own file, written above
