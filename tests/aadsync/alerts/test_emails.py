"""Alert e-mails end to end: real look-ups against the fake Microsoft, the after-commit hook, Celery tasks (eager)
and Django's SMTP backend talking to a real SMTP server on loopback."""
import contextlib
import re
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from aadsync.alerts.state import alerts_decide, expiry_warnings_decide
from aadsync.alerts.tasks import alerts_expiry_check_task, mails_publish
from aadsync.errors import SENTENCES
from aadsync.models import AadSettings, LookupHealth
from aadsync.sync import sync_company_now
from directory.models import Person

pytestmark = pytest.mark.django_db
FAILING = "MS AAD look-ups of Vertical Inc are failing"
RECOVERED = "MS AAD look-ups of Vertical Inc work again"
LINK = "https://cm.portal.test/aad/"


@pytest.fixture
def world(fake_ms, company, other_company, make_manager, smtp, celery_eager):
    setup = fake_ms.configure(company, users=3)
    make_manager(company)  # rich@vertical.com
    make_manager(company, login="amy", name="amy", email="amy@vertical.com")
    quiet = make_manager(company, login="quiet", name="quiet", email="quiet@vertical.com")
    Person.objects.filter(pk=quiet.pk).update(aad_alert_emails=False)  # turned off on My Information
    make_manager(company, login="nomail", name="nomail", email="")
    make_manager(other_company, login="boss", name="boss", email="boss@other.com")
    return setup


@pytest.fixture
def look_up(django_capture_on_commit_callbacks):
    """One look-up of `company` now, its after-commit hook run as it would be."""

    def run(company, trigger="schedule"):
        with django_capture_on_commit_callbacks(execute=True):
            if trigger == "command":
                with contextlib.suppress(CommandError):  # a failed look-up exits 1
                    call_command("aadsync", company=company.slug)
                return company.sync_runs.first()
            return sync_company_now(company=company, trigger=trigger)

    return run


def _break(world, fake_ms):
    world.app.secrets[0].value = "wrong-now-" + world.secret[:5]
    fake_ms.revoke_tokens()  # the look-up's cached token goes: the next one is asked for with the secret


def _mend(world, fake_ms):
    world.app.secrets[0].value = world.secret
    fake_ms.revoke_tokens()


def _text(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message):
    return message.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize("trigger", ["schedule", "one-time", "command"])
def test_the_first_failure_sends_one_message_to_each_manager_who_wants_it(world, fake_ms, smtp, look_up, company,
                                                                          trigger):
    _break(world, fake_ms)
    run = look_up(company, trigger)
    assert run.status == "failed"
    assert sorted(rcpt for envelope in smtp.envelopes for rcpt in envelope.rcpt_tos) == [
        "amy@vertical.com", "rich@vertical.com"]  # not the opted-out one, not the one without e-mail, not others
    message = smtp.to("rich@vertical.com")[0]
    assert message["Subject"] == FAILING
    assert message["From"] == "CM portal <cmportal@portal.test>"
    text, html = _text(message), _html(message)
    assert "Vertical Inc" in text and "Hello rich" in text
    assert SENTENCES["wrong_secret"] in text  # Microsoft's reason, in the product's sentence, with what to do
    assert LINK in text and f'href="{LINK}"' in html
    assert "https://cm.portal.test/my-information/" in text  # how to turn them off
    raw = b"".join(envelope.original_content or envelope.content for envelope in smtp.envelopes)
    assert world.secret.encode() not in raw and world.secret[:5].encode() + b"8Q" not in raw


def test_while_it_keeps_failing_no_message_per_failure_and_one_reminder_a_day(world, fake_ms, smtp, look_up,
                                                                              company):
    _break(world, fake_ms)
    look_up(company)
    smtp.clear()
    second = look_up(company)
    assert second.status == "failed" and smtp.messages == []
    a_day_later = timezone.now() + timedelta(days=1, minutes=1)
    assert mails_publish(alerts_decide([second.pk], now=a_day_later)) == 2
    assert sorted(m["To"] for m in smtp.messages) == ["amy@vertical.com", "rich@vertical.com"]
    assert smtp.messages[0]["Subject"] == "Reminder: MS AAD look-ups of Vertical Inc are still failing"
    assert "2 failed in a row since" in _text(smtp.messages[0])
    smtp.clear()
    assert mails_publish(alerts_decide([second.pk], now=a_day_later + timedelta(hours=3))) == 0
    assert smtp.messages == []


def test_recovery_sends_one_message_then_nothing(world, fake_ms, smtp, look_up, company):
    _break(world, fake_ms)
    look_up(company)
    look_up(company)
    smtp.clear()
    _mend(world, fake_ms)
    run = look_up(company, "one-time")
    assert run.status == "succeeded"
    assert sorted(m["To"] for m in smtp.messages) == ["amy@vertical.com", "rich@vertical.com"]
    message = smtp.to("amy@vertical.com")[0]
    assert message["Subject"] == RECOVERED
    assert "succeeded" in _text(message) and LINK in _text(message)
    smtp.clear()
    look_up(company)
    assert smtp.messages == []
    health = LookupHealth.objects.get(company=company)
    assert (health.failing_since, health.failure_mail_at) == (None, None)


def test_a_success_without_an_earlier_failure_mail_sends_nothing(world, smtp, look_up, company):
    assert look_up(company).status == "succeeded"
    assert smtp.messages == []


def test_a_new_streak_after_recovery_gets_its_own_first_message(world, fake_ms, smtp, look_up, company):
    _break(world, fake_ms)
    look_up(company)
    _mend(world, fake_ms)
    look_up(company)
    smtp.clear()
    _break(world, fake_ms)
    look_up(company)
    assert [m["Subject"] for m in smtp.to("rich@vertical.com")] == [FAILING]


def test_an_smtp_server_that_refuses_at_first_gets_the_message_on_retry_and_the_look_up_is_untouched(
        world, fake_ms, smtp, look_up, company):
    smtp.refuse = 2  # 451 twice: Django raises SMTPDataError, the task retries with backoff
    _break(world, fake_ms)
    run = look_up(company)
    assert run.status == "failed" and run.error.startswith(SENTENCES["wrong_secret"])
    assert smtp.refused == 2
    assert sorted(m["To"] for m in smtp.messages) == ["amy@vertical.com", "rich@vertical.com"]


def test_an_smtp_server_that_is_down_never_fails_the_look_up(world, fake_ms, smtp, look_up, company, settings,
                                                             caplog):
    settings.EMAIL_PORT = int(fake_ms.closed_url().rsplit(":", 1)[1])  # nothing listens there
    run = look_up(company)
    assert run.status == "succeeded"
    _break(world, fake_ms)
    run = look_up(company)
    assert run.status == "failed" and run.error.startswith(SENTENCES["wrong_secret"])
    assert smtp.messages == []
    assert LookupHealth.objects.get(company=company).failed_in_row == 1


def _noon(company, days):
    today = timezone.localdate(timezone=company.tzinfo)
    return datetime.combine(today + timedelta(days=days), clock(12), tzinfo=company.tzinfo)


def test_expiry_warnings_go_out_30_and_7_days_before_once_each(world, smtp, company):
    expires = _noon(company, 60)
    AadSettings.objects.filter(company=company).update(secret_expires_at=expires, secret_expiry_source="graph")
    sent = []
    for days_before in (31, 30, 30, 29, 8, 7, 7, 6, 1, 0):
        mails_publish(expiry_warnings_decide(now=expires - timedelta(days=days_before)))
        sent.append(len(smtp.to("rich@vertical.com")))
    assert sent == [0, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    first, second = smtp.to("rich@vertical.com")
    assert first["Subject"] == "The MS AAD secret of Vertical Inc expires in 30 days"
    assert second["Subject"] == "The MS AAD secret of Vertical Inc expires in 7 days"
    assert f"Secret expires on {expires:%Y-%m-%d}" in _text(first) and LINK in _text(first)
    assert "Certificates & secrets" in _text(first) and "Certificates &amp; secrets" in _html(first)
    assert smtp.to("quiet@vertical.com") == []
    # A new secret (another expiry date) gets its own two warnings.
    renewed = _noon(company, 400)
    AadSettings.objects.filter(company=company).update(secret_expires_at=renewed)
    mails_publish(expiry_warnings_decide(now=renewed - timedelta(days=30)))
    assert len(smtp.to("rich@vertical.com")) == 3


def test_no_expiry_warning_for_a_company_that_does_not_use_look_ups(world, smtp, company):
    AadSettings.objects.filter(company=company).update(use_lookup=False, secret_expires_at=_noon(company, 5))
    assert alerts_expiry_check_task.apply().get() == 0
    assert smtp.messages == []


def test_the_beat_task_checks_expiry(world, smtp, company):
    AadSettings.objects.filter(company=company).update(secret_expires_at=_noon(company, 5))
    assert alerts_expiry_check_task.apply().get() == 2
    assert smtp.to("rich@vertical.com")[0]["Subject"] == "The MS AAD secret of Vertical Inc expires in 7 days"


def test_a_manager_turns_the_e_mails_off_on_my_information(world, fake_ms, smtp, look_up, company, client):
    rich = Person.objects.get(login="rich", company=company)
    client.force_login(rich)
    edit = client.get("/my-information/?mode=edit").content.decode()
    checkbox = re.search(r'<input[^>]*name="aad_alert_emails"[^>]*>', edit).group(0)
    assert "checked" in checkbox  # on unless the manager turns it off
    response = client.post("/my-information/", {"name": "rich", "email": "rich@vertical.com", "aad_contact": ""})
    assert response.status_code == 302
    rich.refresh_from_db()
    assert rich.aad_alert_emails is False
    assert "E-mail me about MS AAD look-ups</th><td data-testid=\"my-alerts\">No" in client.get(
        "/my-information/").content.decode()
    _break(world, fake_ms)
    look_up(company)
    assert [m["To"] for m in smtp.messages] == ["amy@vertical.com"]
