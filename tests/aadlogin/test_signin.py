"""Sign in with Microsoft through the real msal and requests code against the fake Microsoft."""
import html
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from aadlogin.hints import NOT_PLACED
from directory.models import Contact
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _contact_for(company, user, state=Contact.AadState.ACTIVE):
    return Contact.objects.create(
        company=company, object_id=user["id"], user_principal_name=user["userPrincipalName"],
        first_name=user.get("givenName") or "", last_name=user.get("surname") or "", email=user.get("mail") or "",
        synced=True, aad_state=state,
    )


@pytest.fixture
def signin_setup(fake_ms, company, manager, phone_user):
    setup = fake_ms.configure(company, users=6)
    users = [u for u in setup.tenant.users if u.get("userType") != "Guest" and u.get("accountEnabled", True)]
    manager.aad_contact = _contact_for(company, users[0])
    manager.save()
    phone_user.aad_contact = _contact_for(company, users[1])
    phone_user.save()
    setup.manager_user, setup.phone_user_user, setup.spare_user = users[0], users[1], users[2]
    return setup


def _authorize(fake_ms, client, params, as_user):
    """Start at the portal, let the fake sign `as_user` in, and return the callback URL Microsoft redirects to."""
    start = client.get("/login/microsoft/", params)
    assert start.status_code == 302, start.content.decode()[:500]
    assert start.url.startswith(fake_ms.authority_host)
    fake_ms.signin.user = as_user["id"]
    answer = requests.get(start.url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def _sign_in(fake_ms, client, as_user, params=None):
    callback = _authorize(fake_ms, client, params or {"company": "cm1-vertical"}, as_user)
    return client.get(callback)


def _signed_in(client):
    return "_auth_user_id" in client.session


def test_manager_round_trip_lands_in_the_cm_portal(fake_ms, client, signin_setup, manager):
    response = _sign_in(fake_ms, client, signin_setup.manager_user)
    assert response.status_code == 302 and response.url == "/aad/"
    assert int(client.session["_auth_user_id"]) == manager.pk
    assert client.get("/aad/").status_code == 200


def test_authorize_request_carries_pkce_state_nonce_and_login_hint(fake_ms, client, signin_setup):
    upn = signin_setup.manager_user["userPrincipalName"]
    start = client.get("/login/microsoft/", {"login_hint": upn, "portal": "cm"})
    query = parse_qs(urlsplit(start.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert query["login_hint"] == [upn]
    assert query["redirect_uri"] == ["http://testserver/aad/callback/"]
    assert query["client_id"] == [signin_setup.app.client_id]
    assert urlsplit(start.url).path == f"/{signin_setup.tenant.tenant_id}/oauth2/v2.0/authorize"


def test_user_round_trip_lands_in_the_customer_user_portal(fake_ms, client, signin_setup, phone_user):
    response = _sign_in(fake_ms, client, signin_setup.phone_user_user,
                        {"login_hint": "27728@cm1-vertical", "portal": "cu"})
    assert response.url == "/cu/"
    page = client.get("/cu/").content.decode()
    assert signin_setup.phone_user_user["userPrincipalName"] in page


def _assert_refused(response, client, text):
    assert response.status_code in (403, 429)
    assert text in html.unescape(response.content.decode())
    assert not _signed_in(client)


@pytest.mark.parametrize("tamper,text", [
    ({"sign_with": "bad-signature"}, "bad signature"),
    ({"sign_with": "unknown-key"}, "signed with an unknown key"),
    ({"claims": {"aud": "00000000-0000-0000-0000-000000000001"}}, "issued to another application"),
    ({"claims": {"tid": "00000000-0000-0000-0000-000000000002"}}, "came from another tenant"),
    ({"claims": {"iss": "https://evil.example/00000000-0000-0000-0000-000000000002/v2.0"}}, "came from another tenant"),
    ({"claims": {"exp": 1_000_000_000, "iat": 999_000_000, "nbf": 999_000_000}}, "has expired"),
    ({"claims": {"nonce": "not-the-nonce"}}, "nonce mismatch"),
])
def test_untrustworthy_id_token_is_refused_and_signs_nobody_in(fake_ms, client, signin_setup, tamper, text):
    if "sign_with" in tamper:
        fake_ms.signin.sign_with = tamper["sign_with"]
    fake_ms.signin.claims = tamper.get("claims", {})
    _assert_refused(_sign_in(fake_ms, client, signin_setup.manager_user), client, text)


def test_replayed_state_is_refused(fake_ms, client, signin_setup):
    callback = _authorize(fake_ms, client, {"company": "cm1-vertical"}, signin_setup.manager_user)
    assert client.get(callback).status_code == 302
    client.post("/logout/")
    _assert_refused(client.get(callback), client, "already used or has expired")


def test_missing_state_is_refused(fake_ms, client, signin_setup):
    callback = _authorize(fake_ms, client, {"company": "cm1-vertical"}, signin_setup.manager_user)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    _assert_refused(client.get("/aad/callback/", {"code": code}), client, "already used or has expired")


def test_pkce_verifier_mismatch_is_refused_at_the_fake(fake_ms, client, signin_setup):
    callback = _authorize(fake_ms, client, {"company": "cm1-vertical"}, signin_setup.manager_user)
    session = client.session
    for pending in session["aad_signin_flows"].values():
        pending["flow"]["code_verifier"] = "a-verifier-that-does-not-match-the-challenge-at-all-000"
    session.save()
    _assert_refused(client.get(callback), client, "invalid_grant")
    assert fake_ms.requests_to("token")[-1]["status"] == 400


def test_unlinked_account_is_told_to_ask_the_manager(fake_ms, client, signin_setup):
    _assert_refused(_sign_in(fake_ms, client, signin_setup.spare_user), client,
                    "Ask your manager to link your Microsoft account")


@pytest.mark.parametrize("state,text", [(Contact.AadState.DISABLED, "disabled in Azure AD"),
                                        (Contact.AadState.REMOVED, "removed from Azure AD")])
def test_disabled_or_removed_account_is_refused(fake_ms, client, signin_setup, manager, state, text):
    Contact.objects.filter(pk=manager.aad_contact_id).update(aad_state=state)
    _assert_refused(_sign_in(fake_ms, client, signin_setup.manager_user), client, text)


def test_inactive_person_is_refused(fake_ms, client, signin_setup, manager):
    manager.is_active = False
    manager.save()
    _assert_refused(_sign_in(fake_ms, client, signin_setup.manager_user), client, "switched off")


def test_company_with_usage_not_use_is_refused_at_the_start(fake_ms, client, company):
    fake_ms.configure(company, users=2, use_lookup=False)
    response = client.get("/login/microsoft/", {"company": "cm1-vertical"})
    _assert_refused(response, client, NOT_PLACED)
    assert "Vertical Inc" not in response.content.decode()


def test_linked_account_of_company_a_cannot_sign_in_to_company_b(fake_ms, client, signin_setup, other_company):
    from aadsync.services import Actor, aad_settings_update

    # Company B uses the same tenant with its own app registration; A's linked account is nobody in B.
    app_b = fake_ms.add_app(signin_setup.tenant, secret="b-secret-value~123")
    aad_settings_update(company=other_company, data={"use_lookup": True, "tenant_id": signin_setup.tenant.tenant_id,
                        "client_id": app_b.client_id}, secret="b-secret-value~123", actor=Actor(person=None))
    response = _sign_in(fake_ms, client, signin_setup.manager_user, {"company": other_company.slug})
    _assert_refused(response, client, "is not linked to anyone in Other Co")


def test_unknown_key_id_refreshes_the_cached_jwks_once(fake_ms, client, signin_setup):
    assert _sign_in(fake_ms, client, signin_setup.manager_user).status_code == 302
    client.post("/logout/")
    fake_ms.signin.rotate_key()  # Microsoft rolled its keys after we cached the old set
    assert _sign_in(fake_ms, client, signin_setup.manager_user).status_code == 302
    assert len(fake_ms.requests_to("jwks")) == 2
    client.post("/logout/")
    assert _sign_in(fake_ms, client, signin_setup.manager_user).status_code == 302
    assert len(fake_ms.requests_to("jwks")) == 2  # cached again


@pytest.mark.parametrize("params", [{"company": "no-such-co"}, {"login_hint": "nobody@nowhere.test"}])
def test_unknown_company_or_hint_says_what_to_type(client, db, params):
    _assert_refused(client.get("/login/microsoft/", params), client, "Type your company's portal domain")


@pytest.mark.parametrize("field", ["mail", "userPrincipalName"])
def test_email_hint_finds_the_company_through_the_linked_account(fake_ms, client, signin_setup, field):
    start = client.get("/login/microsoft/", {"login_hint": signin_setup.manager_user[field].upper()})
    assert start.status_code == 302 and signin_setup.app.client_id in start.url


def test_bare_page_asks_for_the_company(client, db):
    text = client.get("/login/microsoft/").content.decode()
    assert "Your company's portal domain, your e-mail or your portal ID" in text


def test_repeated_refused_microsoft_answers_throttle_the_address(fake_ms, client, signin_setup, settings):
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 2
    for _ in range(2):  # an account nobody is linked to: no account known, so the address counts
        _sign_in(fake_ms, client, signin_setup.spare_user)
    response = client.get("/login/microsoft/", {"company": "cm1-vertical"})
    _assert_refused(response, client, "Too many failed sign-ins from your network")
    assert response.status_code == 429 and int(response["Retry-After"]) > 800
    # ... and the password form from the same address is throttled too
    response = client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD})
    assert "Too many failed sign-ins from your network" in response.content.decode()


def test_logout_after_microsoft_sign_in_offers_microsoft_sign_out(fake_ms, client, signin_setup):
    _sign_in(fake_ms, client, signin_setup.manager_user)
    page = client.post("/logout/")
    text = page.content.decode()
    assert page.status_code == 200 and "Also sign out of Microsoft" in text
    assert f"{fake_ms.authority_host}/{signin_setup.tenant.tenant_id}/oauth2/v2.0/logout" in text
    assert not _signed_in(client)


def test_ms_aad_page_shows_the_callback_url(manager_client):
    assert "http://testserver/aad/callback/" in manager_client.get("/aad/").content.decode()


def test_the_company_is_remembered_so_the_next_sign_in_is_one_click(fake_ms, client, signin_setup, manager, company):
    _sign_in(fake_ms, client, signin_setup.manager_user)
    assert client.cookies["cm_signin_company"].value == company.slug
    client.post("/logout/")

    page = client.get("/login/").content.decode()

    assert f"Sign in with Microsoft to {company.name}" in page
    assert f'name="company" value="{company.slug}"' in page
    assert _signed_in(client) is False
    response = _sign_in(fake_ms, client, signin_setup.manager_user, params={"company": company.slug})
    assert response.status_code == 302 and _signed_in(client)


def test_an_unknown_remembered_company_is_ignored(client):
    client.cookies["cm_signin_company"] = "no-such-company"
    page = client.get("/login/").content.decode()
    assert "Sign in with Microsoft to" not in page and 'data-testid="microsoft-signin"' in page
