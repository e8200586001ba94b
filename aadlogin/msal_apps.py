"""msal apps for sign-in, one per company's app registration, kept a few minutes (msal fetches the tenant's OIDC
discovery document when an app is made: a cached app means no request to Microsoft before the redirect)."""
import hashlib
import threading
import time
from collections import OrderedDict

import msal
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from aadsync.models import AadSettings
from aadsync.services import aad_secret_plain

APP_LIFETIME_SECONDS = 300
MAX_APPS = 256
HTTP_TIMEOUT = 10
MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"

_apps: "OrderedDict[tuple[str, str, str, str], tuple[float, msal.ConfidentialClientApplication]]" = OrderedDict()
_lock = threading.Lock()


def signin_apps_clear() -> None:
    with _lock:
        _apps.clear()


@sensitive_variables("secret")
def signin_app(row: AadSettings) -> msal.ConfidentialClientApplication:
    """The msal app for this company's settings (reused APP_LIFETIME_SECONDS; a new secret is a new app).

    Raises what msal raises while making one: ValueError (an unknown tenant's discovery answered 4xx, or an
    authority msal cannot use), requests.RequestException (Microsoft unreachable); and SecretUnreadable when the
    stored secret was written with a key that is no longer configured.
    """
    secret = aad_secret_plain(settings_row=row)
    host = settings.AAD_AUTHORITY_HOST
    # The secret takes part only as a digest: the key may be kept, the secret never leaves the app object.
    key = (host, row.tenant_id.lower(), row.client_id.lower(), hashlib.sha256(secret.encode()).hexdigest())
    now = time.monotonic()
    with _lock:
        cached = _apps.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    app = msal.ConfidentialClientApplication(
        row.client_id,
        client_credential=secret,
        authority=f"{host}/{row.tenant_id}",
        instance_discovery=host == MICROSOFT_AUTHORITY_HOST,
        http_cache={},
        timeout=HTTP_TIMEOUT,
    )
    with _lock:
        _apps[key] = (now + APP_LIFETIME_SECONDS, app)
        _apps.move_to_end(key)
        while len(_apps) > MAX_APPS:
            _apps.popitem(last=False)
    return app
