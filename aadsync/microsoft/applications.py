"""When the client secret in use expires: read from the app's own registration in Graph (best effort)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from aadsync.errors import SyncError
from aadsync.microsoft.graph import GraphClient

logger = logging.getLogger(__name__)

HINT_LENGTH = 3  # Graph's `hint` of a password credential: the secret's first three characters

# Why no date could be read; the page and the e-mails say what to do about each.
FORBIDDEN = "forbidden"  # the app may not read app registrations (no Application.Read.All)
NOT_LISTED = "not_listed"  # no secret of the app starts like the one in use
FAILED = "failed"  # Microsoft did not answer (network, throttling, an error)

PROBLEMS = {
    FORBIDDEN: (
        "The app may not read its own registration (Microsoft Graph application permission Application.Read.All is "
        "not granted), so the portal cannot see when the secret expires. Click Modify and type the date shown in the "
        "Azure portal (the app registration's Certificates & secrets, column Expires), or grant Application.Read.All."
    ),
    NOT_LISTED: (
        "Microsoft lists no secret of this app that starts with the characters of the one in use. Click Modify and "
        "type the expiry date shown in the Azure portal (Certificates & secrets, column Expires)."
    ),
    FAILED: ("Microsoft did not answer when asked when the secret expires; the portal asks again after the next "
             "look-up."),
}


@dataclass(frozen=True)
class SecretExpiry:
    """The end of the secret in use; `approximate` when several of the app's secrets share its first characters
    (the earliest of them is taken)."""

    expires_at: datetime
    approximate: bool = False


class ExpiryUnreadable(Exception):
    """No expiry date could be read; `problem` is one of PROBLEMS' keys."""

    def __init__(self, problem: str, detail: str = ""):
        self.problem = problem
        self.detail = detail
        super().__init__(PROBLEMS[problem])


def graph_datetime(value: str) -> datetime | None:
    """Graph's `2027-05-01T10:00:00Z` (fractions of a second of any length allowed) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "." in text:  # Python reads at most 6 digits of a fraction; Graph may send 7
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def secret_expiry_pick(credentials: list, *, secret: str) -> SecretExpiry | None:
    """The expiry of `secret` among an app's passwordCredentials, matched by `hint` (pure).

    Several credentials may exist (rotation keeps the old one a while); only those whose hint is the secret's
    first characters can be it. When more than one matches, the earliest end is the safe answer, marked approximate.
    """
    hint = secret[:HINT_LENGTH]
    ends = []
    for credential in credentials if isinstance(credentials, list) else []:
        if not isinstance(credential, dict) or credential.get("hint") != hint:
            continue
        end = graph_datetime(credential.get("endDateTime") or "")
        if end is not None:
            ends.append(end)
    if not ends:
        return None
    return SecretExpiry(expires_at=min(ends), approximate=len(ends) > 1)


def secret_expiry_read(client: GraphClient, *, client_id: str) -> SecretExpiry:
    """`GET /applications(appId='{client id}')?$select=passwordCredentials` once, with the client's token and
    timeouts and without retries (a later look-up asks again). Raises ExpiryUnreadable; a failed token request
    raises its SyncError."""
    url = f"{client.graph_url}/applications(appId='{client_id}')?$select=passwordCredentials"
    token = client.tokens.access_token()
    try:
        response = client.session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=client.timeout)
    except requests.RequestException as exc:
        raise ExpiryUnreadable(FAILED, type(exc).__name__) from None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code == 403:
        raise ExpiryUnreadable(FORBIDDEN, "HTTP 403")
    if response.status_code != 200 or not isinstance(body, dict):
        code = (body.get("error") or {}).get("code", "") if isinstance(body, dict) else ""
        raise ExpiryUnreadable(FAILED, f"HTTP {response.status_code} {code}".strip())
    expiry = secret_expiry_pick(body.get("passwordCredentials") or [], secret=client.tokens.credentials.secret)
    if expiry is None:
        raise ExpiryUnreadable(NOT_LISTED)
    return expiry


def secret_expiry_try(client: GraphClient, *, client_id: str) -> tuple[SecretExpiry | None, str]:
    """(expiry, "") or (None, problem): never raises, for callers to whom the date is a bonus."""
    try:
        return secret_expiry_read(client, client_id=client_id), ""
    except ExpiryUnreadable as unreadable:
        logger.info("Secret expiry of app %s not read: %s %s", client_id, unreadable.problem, unreadable.detail)
        return None, unreadable.problem
    except SyncError as error:
        logger.info("Secret expiry of app %s not read: token %s", client_id, error.code)
        return None, FAILED
