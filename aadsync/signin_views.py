"""Views of "Sign in with Microsoft" (/login/microsoft/, /aad/callback/) and the portal logout."""
import logging

from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from aadsync import signin
from directory import throttle
from directory.views.auth import home_url_for

logger = logging.getLogger(__name__)
PORTALS = {"cm": "login", "cu": "cu-login"}


def _refused(request, message: str, portal: str = "cm", status: int = 403):
    throttle.signin_failed(request)
    logger.info("Microsoft sign-in refused from %s: %s", request.META.get("REMOTE_ADDR"), message)
    return render(
        request,
        "aadsync/signin_refused.html",
        {"message": message, "login_url": reverse(PORTALS.get(portal, "login"))},
        status=status,
    )


@require_GET
def microsoft_start(request):
    portal = request.GET.get("portal", "cm") if request.GET.get("portal") in PORTALS else "cm"
    blocked = throttle.signin_blocked_for(request)
    if blocked:
        return _refused(request, throttle.blocked_message(blocked), portal, status=429)
    company_slug = request.GET.get("company", "")
    hint = request.GET.get("login_hint", "").strip()
    if not company_slug and not hint:
        return render(request, "aadsync/signin_start.html", {"portal": portal})
    if hint and "@" not in hint:
        company_slug, hint = hint, ""  # a bare portal domain
    try:
        company = signin.company_for_hint(company_slug=company_slug, login_hint=hint)
        return redirect(signin.signin_start(request, company=company, portal=portal, login_hint=hint))
    except signin.SignInRefused as refused:
        return _refused(request, str(refused), portal)


@require_GET
def microsoft_callback(request):
    pending = request.session.get(signin.SESSION_FLOWS, {}).get(request.GET.get("state", ""), {})
    portal = pending.get("portal", "cm")
    blocked = throttle.signin_blocked_for(request)
    if blocked:
        return _refused(request, throttle.blocked_message(blocked), portal, status=429)
    try:
        person, row = signin.signin_finish(request)
    except signin.SignInRefused as refused:
        return _refused(request, str(refused), portal)
    login(request, person, backend="django.contrib.auth.backends.ModelBackend")
    request.session["signin_method"] = "microsoft"
    request.session["aad_tenant_id"] = row.tenant_id
    throttle.signin_succeeded(request)
    logger.info("%s signed in with Microsoft", person.username)
    return redirect(home_url_for(person))


@require_POST
def portal_logout(request):
    """End the portal session; after a Microsoft sign-in, offer Microsoft's sign-out too."""
    was_user = request.user.is_authenticated and request.user.role == "user"
    tenant_id = request.session.get("aad_tenant_id") if request.session.get("signin_method") == "microsoft" else None
    logout(request)
    login_url = reverse("cu-login" if was_user else "login")
    if not tenant_id:
        return redirect(login_url)
    return render(
        request,
        "registration/logged_out.html",
        {
            "login_url": login_url,
            "microsoft_logout_url": signin.microsoft_logout_url(
                tenant_id=tenant_id, post_logout_redirect_uri=request.build_absolute_uri(login_url)
            ),
        },
    )
