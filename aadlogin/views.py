"""Views of "Sign in with Microsoft": the start (/login/microsoft/) and the one callback (/aad/callback/)."""
import logging

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from aadlogin import flow
from cmportal.client_address import client_address
from directory import throttle
from directory.views.auth import IDP_LOGOUT_URL, home_url_for

logger = logging.getLogger(__name__)
PORTALS = {"cm": "login", "cu": "cu-login"}


def _refused(request, message: str, portal: str = "cm", status: int = 403):
    logger.info("Microsoft sign-in refused from %s: %s", client_address(request), message)
    return render(
        request,
        "aadlogin/refused.html",
        {"message": message, "login_url": reverse(PORTALS.get(portal, "login"))},
        status=status,
    )


def _throttled(request, throttled: throttle.Throttled, portal: str):
    response = _refused(request, throttled.message, portal, status=429)
    response["Retry-After"] = str(throttled.seconds)
    return response


@require_GET
def microsoft_start(request):
    """Refusals here are not failed sign-ins: nobody's password or account was tried, so they count against no one
    (five <img> tags must not lock a company out)."""
    portal = request.GET.get("portal", "cm") if request.GET.get("portal") in PORTALS else "cm"
    blocked = throttle.signin_blocked_for(request=request)
    if blocked is not None:
        return _throttled(request, blocked, portal)
    company_slug = request.GET.get("company", "")
    hint = request.GET.get("login_hint", "").strip()
    if not company_slug and not hint:
        return render(request, "aadlogin/start.html", {"portal": portal})
    if hint and "@" not in hint:
        company_slug, hint = hint, ""  # a bare portal domain
    try:
        company = flow.company_for_hint(company_slug=company_slug, login_hint=hint)
        return redirect(flow.signin_start(request, company=company, portal=portal, login_hint=hint))
    except flow.SignInRefused as refused:
        return _refused(request, str(refused), portal)


@require_GET
def microsoft_callback(request):
    pending = request.session.get(flow.SESSION_FLOWS, {}).get(request.GET.get("state", ""), {})
    portal = pending.get("portal", "cm")
    blocked = throttle.signin_blocked_for(request=request)
    if blocked is not None:
        return _throttled(request, blocked, portal)
    try:
        person, row = flow.signin_finish(request)
    except flow.SignInRefused as refused:
        throttle.signin_failed(request=request)  # no account known here: the client's address counts
        return _refused(request, str(refused), portal)
    login(request, person, backend="django.contrib.auth.backends.ModelBackend")
    # The portal's logout offers Microsoft's sign-out too, back to this portal's login page.
    request.session[IDP_LOGOUT_URL] = flow.microsoft_logout_url(
        tenant_id=row.tenant_id,
        post_logout_redirect_uri=request.build_absolute_uri(reverse(PORTALS.get(portal, "login"))),
    )
    throttle.signin_succeeded(account=person.username)
    logger.info("%s signed in with Microsoft", person.username)
    return redirect(home_url_for(person))
