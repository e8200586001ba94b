"""A real SMTP server on loopback (aiosmtpd) that Django's SMTP backend talks to, and Celery tasks run eagerly
(in this process, retries included) so that a look-up's end goes all the way to received e-mails."""
from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from aadsync.alerts import hook

REAL_QUEUE = hook.alerts_queue  # tests/conftest.py records instead; these tests want the real thing


class _Inbox:
    """Accepts every message, except that `refuse` makes the next N answer 451 (try again later)."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list = []
        self.refuse = 0
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=default_policy))
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()


class _LoopbackSMTP(Controller):
    """aiosmtpd's Controller on a port the system picks (it would otherwise probe port 0)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp(settings):
    """The SMTP server, with Django's SMTP backend pointed at it (pytest-django's locmem backend replaced)."""
    inbox = _Inbox()
    controller = _LoopbackSMTP(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "CM portal <cmportal@portal.test>"
    settings.PORTAL_BASE_URL = "https://cm.portal.test"
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def celery_eager(monkeypatch, alerts_queued):
    """Celery tasks run where they are queued, retries at once; the look-up's hook queues the real alert task."""
    from cmportal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", False)
    monkeypatch.setattr(hook, "alerts_queue", REAL_QUEUE)
    return app
