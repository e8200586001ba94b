"""On a real Celery worker (Redis): a look-up that fails there reaches the managers' inbox through the hook, the
alert queue, JSON messages and Django's SMTP backend, with nobody calling anything in between."""
import pytest

from aadsync.dispatch import sync_one_time_request
from aadsync.errors import SENTENCES
from aadsync.models import LookupHealth
from tests.aadsync.celery_harness import CeleryProcesses, make_broker, publishing_to, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_one_time_sync_failing_on_a_worker_mails_the_manager(tmp_path, fake_ms, company, manager, smtp,
                                                               monkeypatch):
    setup = fake_ms.configure(company, users=3)
    setup.app.secrets[0].value = "rotated-in-azure-meanwhile"
    broker = make_broker("redis", tmp_path)
    processes = CeleryProcesses(broker=broker, workdir=tmp_path, extra_env={
        **fake_ms.env(), "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port),
        "PORTAL_BASE_URL": "https://cm.portal.test", "DEFAULT_FROM_EMAIL": "CM portal <cmportal@portal.test>"})
    try:
        with publishing_to(broker, monkeypatch):
            processes.start_worker()
            run = sync_one_time_request(company=company, person=manager)
            wait_until(lambda: smtp.messages, 60, lambda: f"no e-mail arrived:\n{processes.logs()}")
        run.refresh_from_db()
        assert run.status == "failed"
        message = smtp.messages[0]
        assert (message["To"], message["Subject"]) == ("rich@vertical.com", "MS AAD look-ups of Vertical Inc are failing")
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert SENTENCES["wrong_secret"] in text and "https://cm.portal.test/aad/" in text
        assert setup.secret not in message.as_string()
        assert LookupHealth.objects.get(company=company).failure_mail_at is not None
        assert len(smtp.messages) == 1
    finally:
        processes.stop_all()
        broker.cleanup()
