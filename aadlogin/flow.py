"""The MSAL authorization-code flow (PKCE, state, nonce) per company, with one callback URL for every company.

The person first names their company (portal domain), or types their e-mail or portal ID (aadlogin.hints); the
company's own app registration (tenant ID, client ID, secret) runs the flow. The callback verifies the id_token
itself (aadlogin.idtoken) and signs in the one active person linked to the token's `oid`.

Everything msal, requests, PyJWT or the secret's decryption can raise on the way becomes SignInRefused with a
sentence; the cause goes to the log (never the secret, the code or the token).
"""
import base64
import binascii
import json
import logging
import time
from urllib.parse import urlencode

import jwt
import msal
import requests
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from aadlogin.hints import NOT_PLACED, SignInRefused, email_login_hint, signin_settings
from aadlogin.idtoken import IdTokenRejected, verify_id_token
from aadlogin.msal_apps import signin_app
from aadsync.crypto import SecretUnreadable
from aadsync.microsoft.clouds import current_cloud
from aadsync.models import AadSettings
from aadsync.redirect_uri import signin_redirect_uri
from aadsync.validators import guid_normalised
from directory.models import Company, Contact, Person
from directory.selectors import person_for_aad_object_id

logger = logging.getLogger(__name__)

SESSION_FLOWS = "aad_signin_flows"
FLOW_LIFETIME_SECONDS = 600
MAX_PENDING_FLOWS = 5
SIGNIN_SCOPE = "User.Read"  # on the cloud's own Graph host: every scope names it (aadsync/microsoft/clouds.py)
# Microsoft's codes are a few hundred to about two thousand characters; state is ours (msal: 16 characters).
MAX_CODE_LENGTH = 4096
MAX_STATE_LENGTH = 128
# What the libraries on the way raise for bad input or a bad answer (ValueError covers binascii, JSON and Unicode
# errors); anything else is a bug of ours and should fail loudly.
LIBRARY_FAULTS = (ValueError, TypeError, KeyError, RuntimeError, requests.RequestException, msal.exceptions.MsalError,
                  jwt.PyJWTError)

CANNOT_DECRYPT = (
    "Microsoft sign-in cannot run for your company right now. Sign in with your ID and password, and ask your "
    "manager to enter the Secret Code again on the MS AAD page."
)
MICROSOFT_UNAVAILABLE = (
    "Microsoft did not recognise your company's tenant, or could not be reached. Try again later, or ask your "
    "manager to check the Tenant ID on the MS AAD page."
)
NOT_AN_ANSWER = "This is not a sign-in answer from Microsoft that this portal can use. Start the sign-in again."


class SignInFailed(SignInRefused):
    """A refusal about a known account (linked, but not allowed in): the throttle counts it against them."""

    def __init__(self, message: str, *, account: str):
        super().__init__(message)
        self.account = account


def _app_for(row: AadSettings, *, unreadable: str) -> msal.ConfidentialClientApplication:
    try:
        return signin_app(row)
    except SecretUnreadable:
        logger.warning("The stored client secret of %s cannot be decrypted with FIELD_ENCRYPTION_KEY: Microsoft "
                       "sign-in is refused until a manager enters it again", row.company.slug)
        raise SignInRefused(unreadable) from None
    except LIBRARY_FAULTS as error:
        logger.warning("No msal app for %s (tenant %s): %s", row.company.slug, row.tenant_id, type(error).__name__)
        raise SignInRefused(MICROSOFT_UNAVAILABLE) from None


def _pending_flows(session: SessionBase) -> dict:
    now = time.time()
    flows = session.get(SESSION_FLOWS, {})
    return {state: pending for state, pending in flows.items() if pending["started"] + FLOW_LIFETIME_SECONDS > now}


def signin_start(request: HttpRequest, *, company: Company, portal: str, login_hint: str = "") -> str:
    """Keep a new flow in the session and return Microsoft's authorize URL to send the browser to."""
    row = signin_settings(company)
    # Before Microsoft is involved, an unreadable secret is refused like an unknown hint (nothing to enumerate);
    # the log says what it is.
    app = _app_for(row, unreadable=NOT_PLACED)
    try:
        flow = app.initiate_auth_code_flow(
            [current_cloud().scope(SIGNIN_SCOPE)],
            redirect_uri=signin_redirect_uri(request),
            login_hint=email_login_hint(login_hint),
            # query, not form_post: a cross-site POST back would arrive without our SameSite=Lax session cookie,
            # so the flow (state, nonce, PKCE verifier) kept in the session could not be found.
            response_mode="query",
        )
    except LIBRARY_FAULTS as error:
        logger.warning("msal could not start a sign-in for %s: %s", company.slug, type(error).__name__)
        raise SignInRefused(MICROSOFT_UNAVAILABLE) from None
    flows = _pending_flows(request.session)
    while len(flows) >= MAX_PENDING_FLOWS:
        flows.pop(next(iter(flows)))
    flows[flow["state"]] = {"flow": flow, "company_id": company.pk, "portal": portal, "started": time.time()}
    request.session[SESSION_FLOWS] = flows
    return flow["auth_uri"]


def _pop_flow(request: HttpRequest, state: str) -> dict:
    """The pending flow this answer belongs to; the session is written only when it held one (a forged or
    replayed answer makes no session row)."""
    flows = request.session.get(SESSION_FLOWS)
    pending = flows.pop(state, None) if flows and state else None
    if pending is None:
        raise SignInRefused("This sign-in answer was already used or has expired. Start the sign-in again.")
    request.session[SESSION_FLOWS] = flows
    if pending["started"] + FLOW_LIFETIME_SECONDS < time.time():
        raise SignInRefused("This sign-in answer was already used or has expired. Start the sign-in again.")
    return pending


def _client_info(value: str) -> str | None:
    """Microsoft's client_info (base64url JSON {"uid", "utid"}), passed on to msal only when it is exactly that:
    msal decodes it without a guard, and it only serves as a routing hint."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        return None
    if isinstance(decoded, dict) and all(guid_normalised(decoded.get(name)) for name in ("uid", "utid")):
        return value
    return None


def _auth_response(request: HttpRequest) -> dict[str, str]:
    """Only the parts of Microsoft's answer the code redemption needs, each checked for size."""
    state, code = request.GET.get("state", ""), request.GET.get("code", "")
    if len(state) > MAX_STATE_LENGTH or len(code) > MAX_CODE_LENGTH:
        raise SignInRefused(NOT_AN_ANSWER)
    answer = {"state": state, "code": code}
    client_info = _client_info(request.GET.get("client_info", "")[:512])
    if client_info:
        answer["client_info"] = client_info
    return answer


def _microsoft_error(request: HttpRequest) -> SignInRefused:
    description = request.GET.get("error_description", "").split("\n")[0][:300].strip().rstrip(".")
    return SignInRefused(f"Microsoft did not sign you in: {description or request.GET['error'][:100]}. "
                         "Start the sign-in again, or sign in with your ID and password.")


@sensitive_variables("result", "answer")
def signin_finish(request: HttpRequest) -> tuple[Person, AadSettings]:
    """Check Microsoft's answer and return the one active person linked to the signed-in account."""
    answer = _auth_response(request)
    pending = _pop_flow(request, answer["state"])
    company = Company.objects.filter(pk=pending["company_id"]).first()
    if company is None:
        raise SignInRefused(NOT_AN_ANSWER)
    if request.GET.get("error"):
        raise _microsoft_error(request)
    if not answer["code"]:
        raise SignInRefused(NOT_AN_ANSWER)
    row = signin_settings(company)
    app = _app_for(row, unreadable=CANNOT_DECRYPT)
    flow = pending["flow"]
    try:
        result = app.acquire_token_by_auth_code_flow(flow, answer)
    except RuntimeError:  # msal's own nonce check
        raise SignInRefused("Microsoft's sign-in answer does not belong to this sign-in (nonce mismatch).") from None
    except requests.RequestException as error:
        logger.info("Code redemption for %s could not reach Microsoft: %s", company.slug, type(error).__name__)
        raise SignInRefused("Microsoft could not be reached to finish the sign-in. Try again in a minute.") from None
    except LIBRARY_FAULTS as error:
        logger.info("Code redemption for %s refused by msal: %s", company.slug, type(error).__name__)
        raise SignInRefused("This sign-in answer does not match the sign-in that was started. Start again.") from None
    if "error" in result:
        logger.info("Microsoft refused the code redemption for %s: %s", company.slug, str(result.get("error"))[:100])
        raise SignInRefused(
            "Microsoft refused to finish the sign-in "
            f"({str(result.get('error'))[:100]}). Start the sign-in again; if it keeps failing, ask your manager to "
            "check the app registration's redirect URI and secret."
        )
    try:
        claims = verify_id_token(
            result.get("id_token", ""), tenant_id=row.tenant_id, client_id=row.client_id, nonce=flow.get("nonce")
        )
    except IdTokenRejected as refused:
        raise SignInRefused(f"{refused} Nobody was signed in.") from None
    return _linked_person(company, claims), row


def _linked_person(company: Company, claims: dict) -> Person:
    who = claims.get("preferred_username") or "This Microsoft account"
    object_id = str(claims["oid"]).lower()
    person = person_for_aad_object_id(company=company, object_id=object_id)
    if person is None:
        switched_off = Person.objects.filter(company=company, aad_contact__object_id=object_id).first()
        if switched_off is not None:
            raise SignInFailed("Your portal account is switched off. Ask your manager to switch it on.",
                               account=switched_off.username)
        raise SignInRefused(
            f"{who} is not linked to anyone in {company.name}. Ask your manager to link your Microsoft account "
            "to your user (managers link their own under My Information)."
        )
    assert person.aad_contact is not None  # found through it
    state = person.aad_contact.aad_state
    if state == Contact.AadState.DISABLED:
        raise SignInFailed(
            f"{who} is disabled in Azure AD. Ask your Azure AD admin to enable it, or sign in with your ID and "
            "password.",
            account=person.username,
        )
    if state == Contact.AadState.REMOVED:
        raise SignInFailed(
            f"{who} was removed from Azure AD. Ask your manager to link another Microsoft account to your user.",
            account=person.username,
        )
    if state == Contact.AadState.OUT_OF_SCOPE:
        raise SignInFailed(
            f"{who} is outside the groups {company.name} looks up from Azure AD. Ask your manager to add it to one "
            "of those groups, or sign in with your ID and password.",
            account=person.username,
        )
    return person


def microsoft_logout_url(*, tenant_id: str, post_logout_redirect_uri: str) -> str:
    query = urlencode({"post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{settings.AAD_AUTHORITY_HOST}/{tenant_id}/oauth2/v2.0/logout?{query}"
