"""Content-Security-Policy: our own scripts and styles only, no inline script, no framing."""
from django.conf import settings
from django.http import HttpResponseBadRequest


def content_security_policy() -> str:
    # form-action: the "Sign in with Microsoft" form redirects on to the Microsoft authority (in bin/run's demo, to the
    # demo Microsoft's sign-in pages, served to browsers over plain http on loopback).
    authority = settings.AAD_AUTHORITY_HOST
    if settings.DEMO_MODE and settings.DEMO_SIGNIN_ORIGIN:
        authority = f"{authority} {settings.DEMO_SIGNIN_ORIGIN}"
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": f"'self' {authority}",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", content_security_policy())
        return response


class RejectNulInQueryMiddleware:
    """A NUL character in the query string is never meaningful, and PostgreSQL refuses it in any text
    comparison: answer 400 at the door instead of a server error deep in a search. (Forms refuse NUL in
    posted fields with a message of their own.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            return HttpResponseBadRequest(
                "The address holds a character that is not allowed (NUL). Remove it and try again.")
        return self.get_response(request)
