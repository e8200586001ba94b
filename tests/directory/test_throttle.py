"""The sign-in throttle: per account and per client address, atomic under racing requests, the admin included."""
import re
import threading
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.signals import user_login_failed
from django.utils import timezone

from directory.models import Person, SigninThrottle
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
WRONG = "wrong-password-1"


def _login(client, username, password=WRONG, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _checks_counted():
    """Password checks that failed, as Django's own authenticate() reports them."""
    failed = []

    def receiver(sender, credentials, request=None, **kwargs):
        failed.append(credentials.get("username"))

    user_login_failed.connect(receiver, weak=False, dispatch_uid="test-throttle-count")
    return failed


@pytest.fixture
def failed_checks():
    failed = _checks_counted()
    yield failed
    user_login_failed.disconnect(dispatch_uid="test-throttle-count")


def test_sixteen_simultaneous_wrong_passwords_get_at_most_ten_checks(live_server, manager, failed_checks):
    """Real server threads, each with its own database connection: the slot is taken before the check."""
    sessions, tokens = [], []
    for _ in range(16):
        session = requests.Session()
        session.trust_env = False
        page = session.get(f"{live_server.url}/login/", timeout=30)
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1))
        sessions.append(session)
    start = threading.Barrier(16)
    answers: list[str] = []

    def guess(session, token):
        start.wait(timeout=30)
        answer = session.post(f"{live_server.url}/login/", timeout=120, data={
            "csrfmiddlewaretoken": token, "username": "rich@cm1-vertical", "password": WRONG})
        answers.append(answer.text)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(sessions, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(answers) == 16
    odd = [text[:3000] for text in answers if "Please enter a correct" not in text and "Too many" not in text]
    assert not odd, odd
    assert len(failed_checks) == 10
    assert sum("Please enter a correct" in text for text in answers) == 10
    assert sum("Too many failed sign-ins for this ID" in text for text in answers) == 6


def test_another_account_s_success_does_not_reset_the_count(client, company, manager, make_manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    make_manager(company, login="mallory", name="mallory", email="m@vertical.com")
    for _ in range(2):
        _login(client, "rich@cm1-vertical")
    assert _login(client, "mallory@cm1-vertical", PASSWORD).status_code == 302  # the attacker's own account
    client.post("/logout/")
    refused = _login(client, "rich@cm1-vertical", PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_account_s_failures_do_not_block_another_account(client, company, manager, make_manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    make_manager(company, login="amy", name="amy", email="amy@vertical.com")
    for _ in range(3):
        _login(client, "rich@cm1-vertical")
    assert _login(client, "amy@cm1-vertical", PASSWORD).status_code == 302


def test_the_refusal_is_the_same_for_known_and_unknown_ids(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    answers = {}
    for username in ("rich@cm1-vertical", "ghost@cm1-vertical"):
        for _ in range(2):
            _login(client, username)
        response = _login(client, username)
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        answers[username] = (response.status_code, response["Retry-After"], page.replace(f'value="{username}"', ""))
    assert answers["rich@cm1-vertical"] == answers["ghost@cm1-vertical"]


def test_the_refusal_says_when_to_try_again(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 1
    _login(client, "rich@cm1-vertical")
    SigninThrottle.objects.update(window_started_at=timezone.now() - timedelta(seconds=600))
    response = _login(client, "rich@cm1-vertical", PASSWORD)
    assert "Try again in 5 minutes." in response.content.decode()
    assert 290 <= int(response["Retry-After"]) <= 300


def test_the_account_may_try_again_once_the_window_has_passed(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 1
    _login(client, "rich@cm1-vertical")
    assert _login(client, "rich@cm1-vertical", PASSWORD).status_code == 429
    SigninThrottle.objects.update(window_started_at=timezone.now() - timedelta(seconds=901))
    assert _login(client, "rich@cm1-vertical", PASSWORD).status_code == 302


def test_the_account_is_counted_trimmed_and_case_folded(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    _login(client, " RICH@CM1-Vertical ")
    _login(client, "Rich@cm1-vertical")
    assert _login(client, "rich@cm1-vertical", PASSWORD).status_code == 429


def test_the_counters_never_hold_what_was_typed(client, manager):
    _login(client, "rich@cm1-vertical", REMOTE_ADDR="10.1.2.3")
    stored = " ".join(SigninThrottle.objects.values_list("key", flat=True))
    assert "rich" not in stored and "10.1.2.3" not in stored
    assert SigninThrottle.objects.count() == 2  # one account, one address


def test_a_right_password_on_the_wrong_portal_is_not_a_failure(client, phone_user, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 1
    assert "Users sign in at /cu/login/" in _login(client, phone_user.username, PASSWORD).content.decode()
    assert client.post("/cu/login/", {"username": phone_user.username, "password": PASSWORD}).status_code == 302


def test_admin_login_goes_through_the_same_throttle(client, company, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    Person.objects.create_superuser("ops", password=PASSWORD)
    for _ in range(2):
        client.post("/admin/login/", {"username": "ops@operators", "password": WRONG})
    response = client.post("/admin/login/", {"username": "ops@operators", "password": PASSWORD})
    assert "Too many failed sign-ins for this ID" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_and_portal_failures_count_together(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    client.post("/admin/login/", {"username": "rich@cm1-vertical", "password": WRONG})
    _login(client, "rich@cm1-vertical")
    assert _login(client, "rich@cm1-vertical", PASSWORD).status_code == 429


def test_admin_signs_in_when_not_throttled(client, company):
    Person.objects.create_superuser("ops", password=PASSWORD)
    response = client.post("/admin/login/?next=/admin/", {"username": "ops@operators", "password": PASSWORD})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_a_company_behind_one_address_is_not_locked_out_by_a_few_typos(client, company, make_manager, settings):
    for index in range(12):  # twelve people, one typo each, all through one office NAT
        _login(client, f"person{index}@cm1-vertical", REMOTE_ADDR="192.0.2.10")
    make_manager(company, login="amy", name="amy", email="amy@vertical.com")
    assert _login(client, "amy@cm1-vertical", PASSWORD, REMOTE_ADDR="192.0.2.10").status_code == 302


def test_refused_microsoft_starts_are_not_failed_sign_ins(client, manager, settings):
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 1
    for _ in range(5):  # what an <img> tag on any web page can send
        assert client.get("/login/microsoft/", {"company": "zz"}).status_code == 403
    assert _login(client, "rich@cm1-vertical", PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_each_client_address_counts_apart(client, manager, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 2
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for login in ("amy", "bob"):
        _login(client, f"{login}@cm1-vertical", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.1.1.1", **proxy)
    blocked = _login(client, "rich@cm1-vertical", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert "Too many failed sign-ins from your network" in blocked.content.decode()
    allowed = _login(client, "rich@cm1-vertical", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4", **proxy)
    assert allowed.status_code == 302


def test_a_forged_forwarded_for_cannot_escape_the_count(client, manager, settings):
    """The client writes the left part of X-Forwarded-For; the trusted proxy appends the address it saw."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 2
    for forged in ("1.1.1.1", "2.2.2.2"):
        _login(client, f"{forged}@cm1-vertical", HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.7", REMOTE_ADDR="127.0.0.1")
    refused = _login(client, "rich@cm1-vertical", PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7",
                     REMOTE_ADDR="127.0.0.1")
    assert "Too many failed sign-ins from your network" in refused.content.decode()


def test_without_a_trusted_proxy_the_header_is_ignored(client, manager, settings):
    settings.TRUSTED_PROXIES = []
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 2
    for forged in ("1.1.1.1", "2.2.2.2"):
        _login(client, f"{forged}@cm1-vertical", HTTP_X_FORWARDED_FOR=forged, REMOTE_ADDR="198.51.100.9")
    refused = _login(client, "rich@cm1-vertical", PASSWORD, HTTP_X_FORWARDED_FOR="3.3.3.3",
                     REMOTE_ADDR="198.51.100.9")
    assert "Too many failed sign-ins from your network" in refused.content.decode()


def test_an_untrusted_sender_s_header_is_ignored_even_when_proxies_are_configured(client, manager, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 2
    for forged in ("1.1.1.1", "2.2.2.2"):
        _login(client, f"{forged}@cm1-vertical", HTTP_X_FORWARDED_FOR=forged, REMOTE_ADDR="198.51.100.9")
    refused = _login(client, "rich@cm1-vertical", PASSWORD, REMOTE_ADDR="198.51.100.9")
    assert "Too many failed sign-ins from your network" in refused.content.decode()
