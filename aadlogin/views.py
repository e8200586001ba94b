"""Views of "Sign in with Microsoft": the start (/login/microsoft/) and the one callback (/aad/callback/)."""
import logging

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from aadlogin import flow
from aadlogin.hints import SignInRefused, company_for_hint
from aadlogin.remembered import company_remember
from cmportal.client_address import client_address
from directory import throttle
from directory.views.auth import IDP_LOGOUT_URL, home_url_for

logger = logging.getLogger(__name__)
PORTALS = {"cm": "login", "cu": "cu-login"}


def _refused(request: HttpRequest, message: str, portal: str = "cm", status: int = 403) -> HttpResponse:
    logger.info("Microsoft sign-in refused from %s: %s", client_address(request), message)
    return render(
        request,
        "aadlogin/refused.html",
        {"message": message, "login_url": reverse(PORTALS.get(portal, "login"))},
        status=status,
    )


def _throttled(request: HttpRequest, throttled: throttle.Throttled, portal: str) -> HttpResponse:
    response = _refused(request, throttled.message, portal, status=429)
    response["Retry-After"] = str(throttled.seconds)
    return response


@require_GET
def microsoft_start(request: HttpRequest) -> HttpResponse:
    """Place the typed hint and send the browser to the company's Microsoft sign-in.

    A hint that places nobody is answered exactly like one whose company cannot sign in with Microsoft (same
    status, page and sentence), and costs no session row and no request to Microsoft. Refusals here are not
    failed sign-ins: nobody's password or account was tried, so they count against no one.
    """
    portal = request.GET["portal"] if request.GET.get("portal") in PORTALS else "cm"
    company_slug = request.GET.get("company", "")
    hint = request.GET.get("login_hint", "").strip()
    if not company_slug and not hint:
        return render(request, "aadlogin/start.html", {"portal": portal})
    blocked = throttle.signin_blocked_for(request=request)
    if blocked is not None:
        return _throttled(request, blocked, portal)
    try:
        company = company_for_hint(company_slug=company_slug, login_hint=hint)
        return redirect(flow.signin_start(request, company=company, portal=portal, login_hint=hint))
    except SignInRefused as refused:
        logger.info("Microsoft sign-in not started from %s: %s", client_address(request), refused)
        return render(request, "aadlogin/start.html",
                      {"portal": portal, "message": str(refused), "login_hint": company_slug or hint}, status=403)


@require_GET
def microsoft_callback(request: HttpRequest) -> HttpResponse:
    """Microsoft's answer: sign the linked person in, or refuse with a sentence (never a server error).

    A refusal counts as a failed sign-in: against the account when the answer named a linked person who may not
    come in, else against the client's address.
    """
    state = request.GET.get("state", "")
    pending = request.session.get(flow.SESSION_FLOWS, {}).get(state, {}) if state else {}
    portal = pending.get("portal", "cm") if isinstance(pending, dict) else "cm"
    blocked = throttle.signin_blocked_for(request=request)
    if blocked is not None:
        return _throttled(request, blocked, portal)
    try:
        person, row = flow.signin_finish(request)
    except flow.SignInFailed as refused:
        throttle.signin_failed(request=request, account=refused.account)
        return _refused(request, str(refused), portal)
    except SignInRefused as refused:
        throttle.signin_failed(request=request)
        return _refused(request, str(refused), portal)
    login(request, person, backend="django.contrib.auth.backends.ModelBackend")
    # The portal's logout offers Microsoft's sign-out too, back to this portal's login page.
    request.session[IDP_LOGOUT_URL] = flow.microsoft_logout_url(
        tenant_id=row.tenant_id,
        post_logout_redirect_uri=request.build_absolute_uri(reverse(PORTALS.get(portal, "login"))),
    )
    throttle.signin_succeeded(account=person.username)
    logger.info("%s signed in with Microsoft", person.username)
    response = redirect(home_url_for(person))
    company_remember(response, person.company)  # the next sign-in on this browser is one click
    return response
