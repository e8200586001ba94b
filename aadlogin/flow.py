"""The MSAL authorization-code flow (PKCE, state, nonce) per company, with one callback URL for every company.

The person first names their company (portal domain), or types their e-mail or portal ID; the company's
own app registration (tenant ID, client ID, secret) runs the flow. The callback verifies the id_token
itself (aadlogin.idtoken) and signs in the one active person linked to the token's `oid`.
"""
import logging
import re
import time
from urllib.parse import urlencode

import msal
import requests
from django.conf import settings

from aadlogin.idtoken import IdTokenRejected, verify_id_token
from aadsync.models import AadSettings
from aadsync.redirect_uri import signin_redirect_uri
from aadsync.services import aad_secret_plain
from directory.models import Company, Contact, Person
from directory.selectors import person_for_aad_object_id

logger = logging.getLogger(__name__)

SESSION_FLOWS = "aad_signin_flows"
FLOW_LIFETIME_SECONDS = 600
MAX_PENDING_FLOWS = 5
SIGNIN_SCOPES = ["User.Read"]
PORTAL_ID_RE = re.compile(r"^[^@\s]+@(?P<slug>[a-z0-9-]+)$")


class SignInRefused(Exception):
    """A sentence that tells the person what to do; nobody is signed in."""


def company_for_hint(*, company_slug: str = "", login_hint: str = "") -> Company:
    """The company whose app registration signs this person in."""
    if company_slug:
        company = Company.objects.filter(slug=company_slug.strip().lower()).first()
        if company is None:
            raise SignInRefused(f"No company uses the portal domain “{company_slug}”. Check the spelling.")
        return company
    hint = login_hint.strip()
    if not hint:
        raise SignInRefused("Type your company's portal domain, your e-mail or your portal ID.")
    portal_id = PORTAL_ID_RE.match(hint)
    if portal_id:
        company = Company.objects.filter(slug=portal_id["slug"].lower()).first()
        if company is not None:
            return company
    # An e-mail: whose company holds a linked person with it (their own or their AAD account's)?
    company_ids = set(
        Person.objects.filter(is_active=True, email__iexact=hint).values_list("company_id", flat=True)
    ) | set(
        Contact.objects.filter(linked_person__isnull=False, email__iexact=hint).values_list("company_id", flat=True)
    ) | set(
        Contact.objects.filter(
            linked_person__isnull=False, user_principal_name__iexact=hint
        ).values_list("company_id", flat=True)
    )
    if len(company_ids) == 1:
        return Company.objects.get(pk=company_ids.pop())
    if len(company_ids) > 1:
        raise SignInRefused("This e-mail belongs to more than one company: type your company's portal domain instead.")
    raise SignInRefused(
        f"No company knows “{hint}”. Type your company's portal domain (the part after @ in your portal ID)."
    )


def signin_settings(company: Company) -> AadSettings:
    row = AadSettings.objects.filter(company=company).first()
    if row is None or not row.use_lookup or not row.is_complete:
        raise SignInRefused(
            f"Microsoft sign-in is not turned on for {company.name}. Sign in with your ID and password, "
            "or ask your manager to set User Look-Up Usage to Use on the MS AAD page."
        )
    return row


def _msal_app(row: AadSettings) -> msal.ConfidentialClientApplication:
    host = settings.AAD_AUTHORITY_HOST
    try:
        return msal.ConfidentialClientApplication(
            row.client_id,
            client_credential=aad_secret_plain(settings_row=row),
            authority=f"{host}/{row.tenant_id}",
            instance_discovery=host == "https://login.microsoftonline.com",
            http_cache={},
            timeout=10,
        )
    except (ValueError, requests.RequestException):
        raise SignInRefused(
            "Microsoft did not recognise your company's tenant, or could not be reached. "
            "Try again later, or ask your manager to check the Tenant ID on the MS AAD page."
        ) from None


def signin_start(request, *, company: Company, portal: str, login_hint: str = "") -> str:
    """Keep a new flow in the session and return Microsoft's authorize URL to send the browser to."""
    row = signin_settings(company)
    app = _msal_app(row)
    flow = app.initiate_auth_code_flow(
        SIGNIN_SCOPES,
        redirect_uri=signin_redirect_uri(request),
        login_hint=login_hint if "@" in login_hint and not PORTAL_ID_RE.match(login_hint) else None,
        # query, not form_post: a cross-site POST back would arrive without our SameSite=Lax session cookie,
        # so the flow (state, nonce, PKCE verifier) kept in the session could not be found.
        response_mode="query",
    )
    flows = {
        state: pending
        for state, pending in request.session.get(SESSION_FLOWS, {}).items()
        if pending["started"] + FLOW_LIFETIME_SECONDS > time.time()
    }
    while len(flows) >= MAX_PENDING_FLOWS:
        flows.pop(next(iter(flows)))
    flows[flow["state"]] = {"flow": flow, "company_id": company.pk, "portal": portal, "started": time.time()}
    request.session[SESSION_FLOWS] = flows
    return flow["auth_uri"]


def _pop_flow(request, state: str | None) -> dict:
    flows = request.session.get(SESSION_FLOWS, {})
    pending = flows.pop(state, None) if state else None
    request.session[SESSION_FLOWS] = flows
    if pending is None or pending["started"] + FLOW_LIFETIME_SECONDS < time.time():
        raise SignInRefused("This sign-in answer was already used or has expired. Start the sign-in again.")
    return pending


def signin_finish(request) -> tuple[Person, AadSettings]:
    """Check Microsoft's answer and return the one active person linked to the signed-in account."""
    pending = _pop_flow(request, request.GET.get("state"))
    company = Company.objects.get(pk=pending["company_id"])
    if request.GET.get("error"):
        description = request.GET.get("error_description", "").split("\n")[0][:300]
        raise SignInRefused(f"Microsoft did not sign you in: {description or request.GET['error']}.")
    row = signin_settings(company)
    app = _msal_app(row)
    flow = pending["flow"]
    try:
        result = app.acquire_token_by_auth_code_flow(flow, request.GET.dict())
    except ValueError:
        raise SignInRefused("This sign-in answer does not match the sign-in that was started. Start again.") from None
    except RuntimeError:  # msal's own nonce check
        raise SignInRefused("Microsoft's sign-in answer does not belong to this sign-in (nonce mismatch).") from None
    except requests.RequestException:
        raise SignInRefused("Microsoft could not be reached to finish the sign-in. Try again in a minute.") from None
    if "error" in result:
        logger.info("Microsoft refused the code redemption for %s: %s", company.slug, result.get("error"))
        raise SignInRefused(
            "Microsoft refused to finish the sign-in "
            f"({result.get('error')}). Start the sign-in again; if it keeps failing, ask your manager to check "
            "the app registration's redirect URI and secret."
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
    person = person_for_aad_object_id(company=company, object_id=claims["oid"].lower())
    if person is None:
        if Person.objects.filter(company=company, aad_contact__object_id=claims["oid"].lower()).exists():
            raise SignInRefused("Your portal account is switched off. Ask your manager to switch it on.")
        raise SignInRefused(
            f"{who} is not linked to anyone in {company.name}. Ask your manager to link your Microsoft account "
            "to your user (managers link their own under My Information)."
        )
    assert person.aad_contact is not None  # found through it
    state = person.aad_contact.aad_state
    if state == Contact.AadState.DISABLED:
        raise SignInRefused(
            f"{who} is disabled in Azure AD. Ask your Azure AD admin to enable it, or sign in with your ID and "
            "password."
        )
    if state == Contact.AadState.REMOVED:
        raise SignInRefused(
            f"{who} was removed from Azure AD. Ask your manager to link another Microsoft account to your user."
        )
    return person


def microsoft_logout_url(*, tenant_id: str, post_logout_redirect_uri: str) -> str:
    query = urlencode({"post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{settings.AAD_AUTHORITY_HOST}/{tenant_id}/oauth2/v2.0/logout?{query}"
