"""The company this browser last signed in to with Microsoft, remembered in a cookie so the next sign-in is one
click (the person can still type another company, e-mail or portal ID)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from directory.models import Company

COOKIE = "cm_signin_company"
MAX_AGE = 400 * 24 * 3600  # the most browsers keep a cookie


def company_remember(response: HttpResponse, company: Company) -> None:
    response.set_cookie(COOKIE, company.slug, max_age=MAX_AGE, httponly=True, samesite="Lax",
                        secure=settings.SESSION_COOKIE_SECURE)


def remembered_company(request: HttpRequest) -> Company | None:
    slug = request.COOKIES.get(COOKIE, "")
    if not slug or len(slug) > 50:
        return None
    return Company.objects.filter(slug=slug).only("slug", "name").first()


def remembered_company_context(request: HttpRequest) -> dict:
    """Template context (a context processor): `remembered_company` for the login pages' Microsoft button."""
    if request.user.is_authenticated or not request.path.endswith("login/"):
        return {}
    return {"remembered_company": remembered_company(request)}
