"""The embedded broker (bin/run's default): kombu's folder transport, with each message written atomically.

kombu's filesystem transport creates a message's file under its final name and then writes it; a worker polling the
same folder can move and read the file before the bytes are there, and an empty message stops the worker
("Unrecoverable error: JSONDecodeError"). Seen when a worker published the alert tasks that follow a look-up while
it consumed. Here the message is written under a name no queue matches and renamed into place (os.replace, atomic
within a folder), so a reader sees a whole message or none. `use_for_filesystem_urls` (called by cmportal/celery.py)
makes every `filesystem://` URL of the process take this transport, whatever sets the URL (settings, tests).
"""
from __future__ import annotations

import os
import uuid
from time import monotonic_ns
from typing import Any

from kombu import transport as kombu_transports
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's two base classes name the second parameter differently (message, payload): mypy sees a conflict.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        folder = self.data_folder_out
        # Readers take files in name order: nanoseconds (zero-padded) keep one process's messages in the order sent,
        # where kombu's milliseconds left messages of the same millisecond in random (uuid) order.
        final = os.path.join(folder, f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg")
        partial = os.path.join(folder, f"writing-{uuid.uuid4().hex}")  # no dot: never taken for a queue's message
        try:
            with open(partial, "wb") as stream:
                stream.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def use_for_filesystem_urls() -> None:
    """Point kombu's `filesystem` scheme at this transport (kombu resolves URL schemes through TRANSPORT_ALIASES;
    call it before the first connection: kombu caches the class it resolved)."""
    kombu_transports.TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
