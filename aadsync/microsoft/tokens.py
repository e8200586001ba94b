"""Access tokens for Graph: one msal confidential-client app per company's credentials, cached for the process."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings

from aadsync.errors import SyncError, redact
from aadsync.microsoft.answers import connection_error, token_error
from aadsync.microsoft.clouds import current_cloud

logger = logging.getLogger(__name__)

# Hosts msal knows; anything else (a fake, a sovereign proxy) needs instance_discovery=False.
MICROSOFT_AUTHORITY_HOSTS = {"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                             "login.partner.microsoftonline.cn", "login.windows.net", "login.microsoft.com",
                             "sts.windows.net"}


@dataclass(frozen=True)
class Credentials:
    tenant_id: str
    client_id: str
    secret: str = field(repr=False)


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds for every request to Microsoft."""
    connect, read = settings.AAD_HTTP_TIMEOUT
    return float(connect), float(read)


_apps: OrderedDict[tuple, msal.ConfidentialClientApplication] = OrderedDict()
_apps_lock = threading.Lock()
MAX_APPS = 256


def _app_key(credentials: Credentials, authority_host: str) -> tuple:
    # The secret takes part only as a digest: a new secret is a new app (and a new token).
    digest = hashlib.sha256(credentials.secret.encode()).hexdigest()
    return (authority_host, credentials.tenant_id.lower(), credentials.client_id.lower(), digest)


def msal_apps_clear() -> None:
    """Forget every cached app (their tokens and msal's replay cache of recent errors)."""
    with _apps_lock:
        _apps.clear()


class TokenSource:
    """Access tokens for Graph from an msal ConfidentialClientApplication, reused while valid.

    Apps are cached per (authority, tenant, client ID, secret digest) for the process, so a worker running many
    look-ups asks Microsoft for a token about once an hour per company.
    """

    def __init__(self, credentials: Credentials, *, authority_host: str | None = None,
                 timeout: tuple[float, float] | None = None):
        self.credentials = credentials
        self.authority_host = (authority_host or settings.AAD_AUTHORITY_HOST).rstrip("/")
        self.timeout = timeout or http_timeout()
        self._key = _app_key(credentials, self.authority_host)

    def __repr__(self) -> str:
        return f"TokenSource(tenant={self.credentials.tenant_id!r}, client={self.credentials.client_id!r})"

    def _app(self) -> msal.ConfidentialClientApplication:
        with _apps_lock:
            app = _apps.get(self._key)
            if app is not None:
                _apps.move_to_end(self._key)
                return app
        host = urlsplit(self.authority_host).hostname or ""
        authority = f"{self.authority_host}/{self.credentials.tenant_id}"
        try:
            app = msal.ConfidentialClientApplication(
                self.credentials.client_id,
                client_credential=self.credentials.secret,
                authority=authority,
                instance_discovery=None if host in MICROSOFT_AUTHORITY_HOSTS else False,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise connection_error(exc, self.authority_host) from None
        except msal.exceptions.MsalServiceError as exc:
            raise SyncError("login_unavailable", detail=redact(str(exc), self.credentials.secret)[:100]) from None
        except ValueError as exc:
            # msal raises ValueError for a 4xx on the tenant's OIDC discovery (an unknown tenant), and for an
            # authority it cannot use (not https, malformed).
            if "authority configuration" in str(exc) or "OIDC Discovery" in str(exc):
                raise SyncError("unknown_tenant") from None
            raise SyncError("bad_authority", host=self.authority_host) from None
        with _apps_lock:
            _apps[self._key] = app
            while len(_apps) > MAX_APPS:
                _apps.popitem(last=False)
        return app

    def access_token(self) -> str:
        app = self._app()
        try:
            result = app.acquire_token_for_client(scopes=[current_cloud().scope(".default")])
        except requests.RequestException as exc:
            raise connection_error(exc, self.authority_host) from None
        except msal.exceptions.MsalServiceError as exc:
            raise SyncError("login_unavailable", detail=redact(str(exc), self.credentials.secret)[:100]) from None
        except ValueError:  # a token response that is not JSON
            raise SyncError("login_unavailable", detail="the answer was not valid JSON") from None
        if "access_token" not in result:
            error = token_error(result, secret=self.credentials.secret)
            logger.warning("Token request for tenant %s, client %s failed: %s", self.credentials.tenant_id,
                           self.credentials.client_id, error.code)
            raise error
        return result["access_token"]

    def renew(self) -> None:
        """Drop the cached app, so the next access_token() is a new one from Microsoft."""
        with _apps_lock:
            _apps.pop(self._key, None)


