"""The alert tasks: registered by name, JSON arguments, retries on SMTP errors; after a successful look-up the
secret's expiry is read again (best effort, at most every 6 hours), and a failed read never fails a look-up."""
import json
import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from aadsync.alerts import tasks
from aadsync.alerts.rules import FAILING
from aadsync.alerts.state import Mail
from aadsync.models import AadSettings
from aadsync.sync import sync_company_now
from cmportal.celery import app
from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL

pytestmark = pytest.mark.django_db


def test_tasks_are_registered_under_stable_names():
    app.loader.import_default_modules()
    for name in ("aadsync.alerts_after_runs", "aadsync.alert_mail_send", "aadsync.alerts_expiry_check",
                 "aadsync.secret_expiry_refresh"):
        assert name in app.tasks
    assert app.conf.beat_schedule["aadsync-alerts-expiry"]["task"] == "aadsync.alerts_expiry_check"


@pytest.mark.parametrize("name", ["aadsync.alerts_after_runs", "aadsync.alert_mail_send",
                                  "aadsync.alerts_expiry_check", "aadsync.secret_expiry_refresh"])
def test_alert_tasks_have_their_own_queue(name):
    assert app.amqp.router.route({}, name)["queue"].name == "cmportal-alerts"


def test_the_send_task_retries_smtp_errors_with_backoff():
    task = tasks.alert_mail_send_task
    assert smtplib.SMTPException in task.autoretry_for and OSError in task.autoretry_for
    assert task.retry_backoff and task.max_retries >= 5


def test_mails_go_to_the_broker_as_json(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.alert_mail_send_task, "apply_async", lambda args: sent.append(json.dumps(args)))
    mail = Mail(kind=FAILING, company_id=3, recipient_ids=(7, 8), run_id=11,
                details={"failing_since": timezone.now().isoformat(), "failed": 1})
    assert tasks.mails_publish([mail]) == 2
    assert [json.loads(args)[2] for args in sent] == [7, 8]


def test_a_mail_that_cannot_be_queued_is_unmarked(monkeypatch, company):
    from aadsync.models import LookupHealth

    LookupHealth.objects.create(company=company, failure_mail_at=timezone.now())

    def broker_down(args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.alert_mail_send_task, "apply_async", broker_down)
    assert tasks.mails_publish([Mail(kind=FAILING, company_id=company.pk, recipient_ids=(1,))]) == 0
    assert LookupHealth.objects.get(company=company).failure_mail_at is None  # picked again next time


@pytest.fixture
def reads_expiry(fake_ms, company, celery_eager, django_capture_on_commit_callbacks):
    setup = fake_ms.configure(company, users=2, secret_expires_in=50 * 86400,
                              permissions=(USER_READ_ALL, APPLICATION_READ_ALL))

    def look_up():
        with django_capture_on_commit_callbacks(execute=True):
            return sync_company_now(company=company, trigger="schedule")

    return setup, look_up


def test_a_successful_look_up_reads_the_expiry_afterwards(reads_expiry, company, fake_ms):
    setup, look_up = reads_expiry
    assert look_up().status == "succeeded"
    row = AadSettings.objects.get(company=company)
    assert row.secret_expiry_source == "graph"
    assert abs(row.secret_expires_at.timestamp() - setup.app.secrets[0].expires_at) < 1
    fake_ms.requests.clear()
    look_up()  # within 6 hours: not asked again
    assert fake_ms.requests_to("application") == []
    AadSettings.objects.filter(company=company).update(secret_expiry_read_at=timezone.now() - timedelta(hours=7))
    look_up()
    assert len(fake_ms.requests_to("application")) == 1


def test_a_failed_read_never_fails_the_look_up(reads_expiry, company, fake_ms):
    _, look_up = reads_expiry
    fake_ms.drop_connection(endpoint="application")
    run = look_up()
    assert run.status == "succeeded"
    row = AadSettings.objects.get(company=company)
    assert row.secret_expires_at is None and row.secret_expiry_problem == "failed"


def test_a_read_forbidden_keeps_a_typed_date(reads_expiry, company, fake_ms):
    setup, look_up = reads_expiry
    setup.app.permissions = {USER_READ_ALL}
    typed = timezone.now() + timedelta(days=90)
    AadSettings.objects.filter(company=company).update(secret_expires_at=typed, secret_expiry_source="typed")
    fake_ms.revoke_tokens()
    assert look_up().status == "succeeded"
    row = AadSettings.objects.get(company=company)
    assert (row.secret_expires_at, row.secret_expiry_source, row.secret_expiry_problem) == (typed, "typed", "forbidden")


def test_a_reading_about_a_secret_replaced_meanwhile_is_not_stored(reads_expiry, company, monkeypatch):
    from aadsync import connection
    from aadsync.services import Actor, aad_settings_update

    _, look_up = reads_expiry
    real = connection.secret_expiry_try

    def slow_read(client, *, client_id):
        answer = real(client, client_id=client_id)
        aad_settings_update(company=company, data={}, secret="another8Q~secret", actor=Actor(None, "test"))
        return answer

    monkeypatch.setattr(connection, "secret_expiry_try", slow_read)
    look_up()
    assert AadSettings.objects.get(company=company).secret_expires_at is None  # the new secret's date is unknown


@pytest.mark.parametrize("values,expected", [
    ({"PORTAL_BASE_URL": "https://cm.example.com"}, "https://cm.example.com/aad/"),
    ({"PORTAL_BASE_URL": "", "AAD_REDIRECT_BASE_URL": "https://proxy.example.com/"}, "https://proxy.example.com/aad/"),
    ({"PORTAL_BASE_URL": "", "ALLOWED_HOSTS": ["cm.example.org", "*"], "PRODUCTION": True},
     "https://cm.example.org/aad/"),
    ({"PORTAL_BASE_URL": "", "ALLOWED_HOSTS": ["localhost"], "PRODUCTION": False}, "http://localhost:8000/aad/"),
])
def test_links_in_e_mails_are_absolute(settings, values, expected):
    from aadsync.alerts.emails import portal_url

    for name, value in values.items():
        setattr(settings, name, value)
    assert portal_url("/aad/") == expected
