"""The embedded broker (cmportal/broker.py) writes each message atomically: a worker polling the folder finds a whole
message or none, never the empty file that stopped a worker ("Unrecoverable error: JSONDecodeError")."""
import os
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

QUEUE = "cmportal-sync"


@pytest.fixture
def channel(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    with Connection("filesystem://localhost//", transport_options=options) as connection:
        yield connection.default_channel


def test_a_message_is_invisible_to_readers_until_it_is_whole(channel, tmp_path, monkeypatch):
    real_replace = os.replace
    while_writing = []

    def replace(source, target):
        # The bytes are on disk under a name no queue reads: a polling worker finds nothing yet.
        with pytest.raises(Empty):
            channel._get(QUEUE)
        while_writing.append(sorted(os.listdir(tmp_path / "queue")))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    channel._put(QUEUE, {"body": "whole"})

    assert len(while_writing) == 1 and not any(name.endswith(".msg") for name in while_writing[0])
    assert channel._get(QUEUE) == {"body": "whole"}
    assert os.listdir(tmp_path / "queue") == []


def test_messages_keep_their_order_and_queue(channel):
    for number in range(3):
        channel._put(QUEUE, {"n": number})
    channel._put("cmportal-alerts", {"n": "alert"})
    assert [channel._get(QUEUE)["n"] for _ in range(3)] == [0, 1, 2]
    assert channel._get("cmportal-alerts") == {"n": "alert"}


def test_every_filesystem_url_of_the_process_takes_it(channel):
    """Whatever sets the URL (settings, a test switching brokers), filesystem:// means the atomic transport."""
    from cmportal.broker import Channel, Transport

    assert isinstance(channel, Channel)
    assert Connection("filesystem://localhost//").transport_cls == "filesystem"
    assert Connection("filesystem://localhost//").get_transport_cls() is Transport
    assert Connection(settings.CELERY_BROKER_URL).get_transport_cls() is (
        Transport if settings.CELERY_BROKER_URL.startswith("filesystem://") else
        Connection(settings.CELERY_BROKER_URL).get_transport_cls())
