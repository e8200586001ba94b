"""The sign-in redirect URI a company registers in Azure: shown on the MS AAD page, used by the sign-in flow."""
from django.conf import settings
from django.urls import reverse


def signin_redirect_uri(request) -> str:
    """AAD_REDIRECT_BASE_URL + the callback path when set (behind a proxy), else this request's own origin."""
    base = getattr(settings, "AAD_REDIRECT_BASE_URL", "")
    path = reverse("aad-callback")
    return f"{base.rstrip('/')}{path}" if base else request.build_absolute_uri(path)
