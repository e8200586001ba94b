"""Sign in with Microsoft under attack: crafted callbacks answer 4xx with a sentence (never a server error), the
start tells nobody which hints exist, and nothing is spent on a hint that places nobody."""
import base64
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from django.contrib.sessions.models import Session

from aadlogin.flow import CANNOT_DECRYPT, NOT_AN_ANSWER
from aadlogin.hints import NOT_PLACED
from directory.models import Contact, SigninThrottle
from tests.aadlogin.test_signin import _sign_in, _signed_in, signin_setup  # noqa: F401  (fixture)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _started_state(client, company_slug="cm1-vertical") -> str:
    start = client.get("/login/microsoft/", {"company": company_slug})
    assert start.status_code == 302, start.content.decode()[:300]
    return parse_qs(urlsplit(start.url).query)["state"][0]


def _sentence(response) -> str:
    found = re.search(r'data-testid="signin-refused" role="alert">([^<]+)<', response.content.decode())
    assert found, response.content.decode()[:500]
    return html.unescape(found.group(1))


def _refused(response, client) -> str:
    assert 400 <= response.status_code < 500, response.status_code
    assert not _signed_in(client)
    return _sentence(response)


# --- Crafted callbacks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("client_info", [
    "MQ",                                      # base64url of "1": msal would test `"uid" in 1`
    "!!!not-base64!!!",
    "_w",                                       # not UTF-8
    _b64([]),
    _b64("uid utid"),                           # a string that contains both key names
    _b64({"uid": "x\r\nX-Injected: 1", "utid": "y"}),
    _b64({"uid": {"a": 1}, "utid": None}),
    "A" * 3000,
])
def test_a_crafted_client_info_is_refused_with_a_sentence(fake_ms, client, signin_setup, client_info):
    state = _started_state(client)
    response = client.get("/aad/callback/", {"state": state, "code": "x", "client_info": client_info})
    assert "Microsoft refused to finish the sign-in" in _refused(response, client)


def test_a_valid_client_info_still_signs_in(fake_ms, client, signin_setup, manager):
    """Microsoft's own client_info goes on to msal as the routing hint it is."""
    assert _sign_in(fake_ms, client, signin_setup.manager_user).status_code == 302
    assert int(client.session["_auth_user_id"]) == manager.pk


@pytest.mark.parametrize("params,words", [
    ({"error": "access_denied", "error_description": "AADSTS65004: User declined to consent."},
     "Microsoft did not sign you in: AADSTS65004: User declined to consent"),
    ({"error": "server_error"}, "Microsoft did not sign you in: server_error"),
    ({"error": "x" * 5000, "error_description": "<script>alert(1)</script>\nsecond line"},
     "Microsoft did not sign you in: <script>alert(1)</script>"),
])
def test_an_error_answer_is_refused_with_microsoft_s_reason(fake_ms, client, signin_setup, params, words):
    state = _started_state(client)
    response = client.get("/aad/callback/", {"state": state, **params})
    assert words in _refused(response, client)
    assert "<script>" not in response.content.decode()
    assert not fake_ms.requests_to("token")


@pytest.mark.parametrize("params", [{"code": "x"}, {"code": "x", "state": "forged-state-value"},
                                    {"code": "x", "state": "s" * 5000}, {}])
def test_a_missing_or_forged_state_is_refused(fake_ms, client, signin_setup, params):
    _started_state(client)
    sentence = _refused(client.get("/aad/callback/", params), client)
    assert "Start the sign-in again" in sentence
    assert not fake_ms.requests_to("token")


def test_a_5000_character_code_is_refused_before_microsoft(fake_ms, client, signin_setup):
    state = _started_state(client)
    response = client.get("/aad/callback/", {"state": state, "code": "c" * 5000})
    assert _refused(response, client) == NOT_AN_ANSWER
    assert not fake_ms.requests_to("token")


def test_an_answer_without_code_or_error_is_refused(fake_ms, client, signin_setup):
    state = _started_state(client)
    assert _refused(client.get("/aad/callback/", {"state": state}), client) == NOT_AN_ANSWER


def test_a_secret_unreadable_after_the_start_is_refused_at_the_callback(fake_ms, client, signin_setup, settings):
    state = _started_state(client)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key changed after saving
    response = client.get("/aad/callback/", {"state": state, "code": "x"})
    assert _refused(response, client) == CANNOT_DECRYPT


def test_a_secret_unreadable_at_the_start_is_refused_without_a_server_error(fake_ms, client, signin_setup, settings,
                                                                             caplog):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = client.get("/login/microsoft/", {"company": "cm1-vertical"})
    assert response.status_code == 403 and _sentence(response) == NOT_PLACED
    assert "cannot be decrypted" in caplog.text  # the operator learns why from the log
    assert signin_setup.secret not in caplog.text


def test_microsoft_s_token_endpoint_answering_garbage_is_a_sentence(fake_ms, client, signin_setup):
    callback = _authorize_callback(fake_ms, client, signin_setup)
    fake_ms.malformed_json(endpoint="token")
    assert _refused(client.get(callback), client)


def test_microsoft_unreachable_at_the_callback_is_a_sentence(fake_ms, client, signin_setup):
    callback = _authorize_callback(fake_ms, client, signin_setup)
    fake_ms.drop_connection(endpoint="token")
    assert "could not be reached" in _refused(client.get(callback), client)


def test_refusals_never_log_the_secret_or_the_code(fake_ms, client, signin_setup, caplog):
    state = _started_state(client)
    client.get("/aad/callback/", {"state": state, "code": "the-code-value-0123", "client_info": "MQ"})
    assert "the-code-value-0123" not in caplog.text and signin_setup.secret not in caplog.text


def _authorize_callback(fake_ms, client, setup) -> str:
    start = client.get("/login/microsoft/", {"company": "cm1-vertical"})
    fake_ms.signin.user = setup.manager_user["id"]
    return requests.get(start.url, allow_redirects=False, timeout=5).headers["Location"]


# --- id_token audiences -----------------------------------------------------------------------------------------

def test_a_list_audience_without_azp_is_refused(fake_ms, client, signin_setup):
    fake_ms.signin.claims = {"aud": [signin_setup.app.client_id, "00000000-0000-0000-0000-0000000000aa"]}
    response = _sign_in(fake_ms, client, signin_setup.manager_user)
    assert "issued to another application" in _refused(response, client)


def test_a_list_audience_with_another_azp_is_refused(fake_ms, client, signin_setup):
    fake_ms.signin.claims = {"aud": [signin_setup.app.client_id], "azp": "00000000-0000-0000-0000-0000000000aa"}
    response = _sign_in(fake_ms, client, signin_setup.manager_user)
    assert "issued to another application" in _refused(response, client)


def test_a_list_audience_with_our_azp_signs_in(fake_ms, client, signin_setup):
    fake_ms.signin.claims = {"aud": [signin_setup.app.client_id, "00000000-0000-0000-0000-0000000000aa"],
                             "azp": signin_setup.app.client_id}
    assert _sign_in(fake_ms, client, signin_setup.manager_user).status_code == 302


# --- Throttling of refused answers ----------------------------------------------------------------------------

def test_a_refused_answer_for_a_known_account_counts_against_that_account(fake_ms, client, signin_setup, manager,
                                                                          settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    Contact.objects.filter(pk=manager.aad_contact_id).update(aad_state=Contact.AadState.DISABLED)
    for _ in range(2):
        _sign_in(fake_ms, client, signin_setup.manager_user)
    response = client.post("/login/", {"username": manager.username, "password": PASSWORD})
    assert response.status_code == 429


def test_a_successful_microsoft_sign_in_clears_the_account_s_failures(fake_ms, client, signin_setup, manager,
                                                                       settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    client.post("/login/", {"username": manager.username, "password": "wrong-wrong"})
    assert _sign_in(fake_ms, client, signin_setup.manager_user).status_code == 302
    client.post("/logout/")
    client.post("/login/", {"username": manager.username, "password": "wrong-wrong"})
    assert client.post("/login/", {"username": manager.username, "password": PASSWORD}).status_code == 302


# --- Less to enumerate ------------------------------------------------------------------------------------------

def _start_page(client, hint):
    response = client.get("/login/microsoft/", {"login_hint": hint})
    return response.status_code, response.content.decode().replace(f'value="{html.escape(hint)}"', "")


def test_an_unknown_hint_and_a_company_without_microsoft_sign_in_look_the_same(fake_ms, client, company,
                                                                               other_company):
    fake_ms.configure(company, users=2, use_lookup=False)
    answers = {hint: _start_page(client, hint) for hint in
               ("cm1-vertical", "zz-nobody", "rich@cm1-vertical", "ghost@cm2-other", "nobody@nowhere.test")}
    assert {status for status, _ in answers.values()} == {403}
    assert len({page for _, page in answers.values()}) == 1


def test_a_company_with_an_unreadable_secret_looks_like_an_unknown_hint(fake_ms, client, signin_setup, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert _start_page(client, "cm1-vertical") == _start_page(client, "zz-nobody")


def test_a_typed_email_that_is_not_the_linked_account_places_nobody(fake_ms, client, signin_setup, manager):
    """rich@vertical.com is only the manager's typed E-mail: it is not their AAD account's."""
    assert manager.email == "rich@vertical.com"
    assert _start_page(client, "rich@vertical.com") == _start_page(client, "nobody@nowhere.test")


def test_another_company_cannot_make_an_email_ambiguous_with_a_typed_address(fake_ms, client, signin_setup,
                                                                             other_company, make_user):
    make_user(other_company, login="27729", email=signin_setup.manager_user["userPrincipalName"])
    start = client.get("/login/microsoft/", {"login_hint": signin_setup.manager_user["userPrincipalName"]})
    assert start.status_code == 302 and signin_setup.app.client_id in start.url


def test_an_unplaced_hint_makes_no_session_and_no_request_to_microsoft(fake_ms, client, signin_setup):
    before = Session.objects.count()
    for hint in ("zz-nobody", "nobody@nowhere.test", "ghost@zz-nobody", "x" * 300):
        assert client.get("/login/microsoft/", {"login_hint": hint}).status_code == 403
    assert Session.objects.count() == before
    assert not list(fake_ms.requests)
    assert not SigninThrottle.objects.exists()  # and no failed sign-in was counted


def test_a_forged_callback_makes_no_session(fake_ms, client, signin_setup):
    before = Session.objects.count()
    client.get("/aad/callback/", {"state": "forged", "code": "x"})
    assert Session.objects.count() == before


def test_msal_apps_and_discovery_are_reused_between_sign_ins(fake_ms, client, signin_setup):
    for _ in range(3):
        assert client.get("/login/microsoft/", {"company": "cm1-vertical"}).status_code == 302
    assert len(fake_ms.requests_to("discovery")) == 1
