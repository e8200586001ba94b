"""Test connection: Microsoft issues a token for these credentials and the app can read users (and, when it may,
when its secret expires). Used before saving new credentials and by the MS AAD page's Test connection."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from aadsync.errors import SyncError
from aadsync.microsoft.answers import RetryPolicy
from aadsync.microsoft.applications import SecretExpiry, secret_expiry_try
from aadsync.microsoft.graph import GraphClient
from aadsync.microsoft.tokens import Credentials, TokenSource

logger = logging.getLogger(__name__)

# A person waits for the answer: short timeouts, one quick retry, a Retry-After longer than a few seconds is final.
CHECK_TIMEOUT = (5.0, 15.0)
CHECK_RETRY = RetryPolicy(max_retries=1, max_seconds=5.0, backoff_base=0.5, backoff_cap=2.0)

# Microsoft could not say yes or no right now: the settings may be right. Anything else is a refusal.
UNCONFIRMED = frozenset({"unreachable", "check_busy", "login_unavailable", "malformed", "bad_authority"})
# The form field a refusal is about (the others concern the app registration as a whole).
FIELD_OF = {"wrong_secret": "secret", "expired_secret": "secret", "unknown_client": "client_id",
            "unknown_tenant": "tenant_id"}


@dataclass(frozen=True)
class CheckResult:
    """What Microsoft said about a tenant, client ID and secret."""

    error: SyncError | None = None
    expiry: SecretExpiry | None = None
    expiry_problem: str = ""  # why no expiry was read (aadsync.microsoft.applications.PROBLEMS), when it was not

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def unconfirmed(self) -> bool:
        """Microsoft could not confirm right now (unreachable, throttled, failing): saving anyway is a choice."""
        return self.error is not None and self.error.code in UNCONFIRMED

    @property
    def field(self) -> str | None:
        return FIELD_OF.get(self.error.code) if self.error is not None else None


class _OwnAppTokenSource(TokenSource):
    """A TokenSource with an msal app of its own: neither a token nor an error cached by an earlier app of the
    same credentials (e.g. the look-ups' in this process) can stand in for Microsoft's answer now."""

    def __init__(self, credentials: Credentials, **kwargs):
        super().__init__(credentials, **kwargs)
        self._key = (*self._key, "check", uuid.uuid4().hex)

    def close(self) -> None:
        self.renew()  # forget the app: it served this check only


def _for_a_person_waiting(error: SyncError) -> SyncError:
    """The look-ups' throttling and server-error sentences speak of retries over minutes; a check made one try."""
    if error.code == "throttled":
        return SyncError("check_busy", what="“too many requests” (HTTP 429)")
    if error.code == "unavailable":
        return SyncError("check_busy", what=f"server errors (HTTP {error.details.get('status')})")
    return error


def connection_check(credentials: Credentials) -> CheckResult:
    """A fresh token for the credentials, one Graph read a look-up needs (`/users?$select=id&$top=1`), then, best
    effort, the secret's expiry. Never raises for what Microsoft answers; the result says it."""
    tokens = _OwnAppTokenSource(credentials, timeout=CHECK_TIMEOUT)
    client = GraphClient(tokens, retry=CHECK_RETRY, timeout=CHECK_TIMEOUT)
    try:
        client.get_page(f"{client.graph_url}/users?$select=id&$top=1")
        expiry, problem = secret_expiry_try(client, client_id=credentials.client_id)
        return CheckResult(expiry=expiry, expiry_problem=problem)
    except SyncError as error:
        logger.info("Connection check for tenant %s, client %s: %s", credentials.tenant_id, credentials.client_id,
                    error.code)
        return CheckResult(error=_for_a_person_waiting(error))
    finally:
        client.close()
        tokens.close()
