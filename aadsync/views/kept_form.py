"""What a MS AAD form that came back with errors keeps for its next submission, server-side in the session.

A secret typed into such a form is kept (encrypted with aadsync.crypto, for KEEP_SECONDS) so that fixing another
field and saving again stores it, although it is never sent back to the browser. The form carries only a random
one-time token; a new token is issued with each re-rendered form, and a page loaded with GET (Modify afresh,
Cancel) forgets it. It also remembers which credentials Microsoft could not confirm, so that "Save without
checking" is accepted for exactly those and never for a definite refusal.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings

from aadsync import crypto

SESSION_KEY = "aadsync:kept-form"
FIELD = "kept_form"  # the hidden input that names the kept form
KEEP_SECONDS = 600


@dataclass(frozen=True)
class KeptForm:
    token: str
    secret: str = ""  # the secret typed before, or ""
    unconfirmed: str = ""  # digest of the tenant, client and secret Microsoft could not confirm, or ""


def kept_form_load(request) -> KeptForm | None:
    """The kept form named by the submitted token, if it is this session's current one and not expired."""
    token = request.POST.get(FIELD, "")
    stored = request.session.get(SESSION_KEY)
    if not token or not isinstance(stored, dict) or not hmac.compare_digest(str(stored.get("token", "")), token):
        return None
    if stored.get("expires", 0) < time.time():
        kept_form_clear(request)
        return None
    try:
        secret = crypto.decrypt(stored["secret"]) if stored.get("secret") else ""
    except crypto.SecretUnreadable:
        secret = ""
    return KeptForm(token=token, secret=secret, unconfirmed=str(stored.get("unconfirmed", "")))


def kept_form_store(request, *, secret: str, unconfirmed: str = "") -> str:
    """Keep `secret` (may be "") and what Microsoft could not confirm for the re-rendered form; its new token."""
    token = secrets.token_urlsafe(24)
    request.session[SESSION_KEY] = {
        "token": token,
        "secret": crypto.encrypt(secret) if secret else "",
        "unconfirmed": unconfirmed,
        "expires": time.time() + KEEP_SECONDS,
    }
    return token


def kept_form_clear(request) -> None:
    if SESSION_KEY in request.session:
        del request.session[SESSION_KEY]


def credentials_digest(*, tenant_id: str, client_id: str, secret: str) -> str:
    """Names one set of credentials without holding the secret (an HMAC under the project's secret key)."""
    message = f"{tenant_id.lower()}\n{client_id.lower()}\n{secret}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
