"""The fake's in-memory world: tenants -> app registrations (client IDs, secrets) -> users, and issued tokens."""
from __future__ import annotations

import secrets as pysecrets
import threading
import time
import uuid
from dataclasses import dataclass, field

from tests.fakems.groups import Groups

USER_READ_ALL = "User.Read.All"
APPLICATION_READ_ALL = "Application.Read.All"  # lets an app read app registrations (its secrets' expiry)


@dataclass
class Secret:
    """A client secret of an app registration; `expires_at` is a Unix time (None: never).

    Graph lists it under the application's passwordCredentials by `key_id`, `display_name`, `hint` (the value's
    first three characters) and start/end times; a secret that never expires has an end far in the future there.
    """

    value: str
    expires_at: float | None = None
    key_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    display_name: str = "cmportal"
    created_at: float = field(default_factory=time.time)

    NEVER = 4102444800.0  # 2100-01-01: what the fake lists as the end of a secret that never expires

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()

    @property
    def hint(self) -> str:
        return self.value[:3]

    @property
    def end(self) -> float:
        return self.NEVER if self.expires_at is None else self.expires_at


@dataclass
class App:
    """An app registration in a tenant. `permissions` are the granted (admin-consented) application roles."""

    client_id: str
    secrets: list[Secret] = field(default_factory=list)
    permissions: set[str] = field(default_factory=lambda: {USER_READ_ALL})
    redirect_uris: list[str] = field(default_factory=list)

    def add_secret(self, value: str | None = None, *, expires_in: float | None = None) -> Secret:
        secret = Secret(value or new_secret_value(), None if expires_in is None else time.time() + expires_in)
        self.secrets.append(secret)
        return secret

    def check_secret(self, value: str | None) -> str:
        """'ok', 'expired' or 'wrong' (Microsoft tells an expired secret apart from a wrong one)."""
        for secret in self.secrets:
            if value is not None and pysecrets.compare_digest(secret.value.encode(), value.encode()):
                return "expired" if secret.expired else "ok"
        return "wrong"


class Tenant:
    """A directory: app registrations and users (kept in insertion order, the order /users lists them)."""

    def __init__(self, tenant_id: str, domain: str):
        self.tenant_id = tenant_id
        self.domain = domain
        self.apps: dict[str, App] = {}
        self._users: dict[str, dict] = {}
        self._snapshot: list[dict] | None = None
        self.lock = threading.RLock()
        # Change log for /users/delta: entry i has sequence number i + 1 and is (object_id, changed properties
        # or None for "all" (added), removal reason or None). Soft-deleted users stay listed as @removed.
        self.changes: list[tuple[str, frozenset | None, str | None]] = []
        self.soft_deleted: dict[str, str] = {}
        self.delta_generation = 0  # bumped to make every delta token issued before it invalid
        self.groups = Groups()

    @property
    def seq(self) -> int:
        return len(self.changes)

    # App registrations
    def add_app(self, client_id: str | None = None, *, secret: str | None = None, secret_expires_in=None,
                permissions=(USER_READ_ALL,)) -> App:
        app = App(client_id=client_id or str(uuid.uuid4()), permissions=set(permissions))
        app.add_secret(secret, expires_in=secret_expires_in)
        self.apps[app.client_id] = app
        return app

    # Users (Graph user resources as dicts, with every property the fake knows)
    def add_users(self, users) -> list[dict]:
        added = []
        with self.lock:
            for user in users:
                self._users[user["id"]] = dict(user)
                self.soft_deleted.pop(user["id"], None)
                self.changes.append((user["id"], None, None))
                added.append(user)
            self._snapshot = None
        return added

    def update_user(self, object_id: str, **changes) -> dict:
        with self.lock:
            user = self._users[object_id]
            user.update(changes)
            self.changes.append((object_id, frozenset(changes), None))
            self._snapshot = None
            return user

    def remove_user(self, object_id: str, reason: str = "deleted") -> dict:
        """Delete a user: "deleted" (gone for good) or "changed" (soft-deleted, restorable: add it back)."""
        with self.lock:
            user = self._users.pop(object_id)
            if reason == "changed":
                self.soft_deleted[object_id] = reason
            self.changes.append((object_id, None, reason))
            self._snapshot = None
            return user

    def changes_between(self, since: int, until: int) -> list[tuple[str, frozenset | None, str | None]]:
        """The net change of each user touched in (since, until], in the order of their last change:
        (object_id, properties changed (None: all), removal reason if the user is gone now)."""
        with self.lock:
            net: dict[str, tuple[frozenset | None, str | None]] = {}
            for object_id, props, reason in self.changes[since:until]:
                before = net.pop(object_id, (frozenset(), None))
                if reason is not None:
                    net[object_id] = (None, reason)
                elif props is None or before[0] is None:
                    net[object_id] = (None, None)
                else:
                    net[object_id] = (before[0] | props, None)
            return [(object_id, props, reason if object_id not in self._users else None)
                    for object_id, (props, reason) in net.items()]

    def clear_users(self) -> None:
        with self.lock:
            self._users.clear()
            self.changes.clear()
            self.soft_deleted.clear()
            self._snapshot = None

    def user(self, object_id: str) -> dict:
        return self._users[object_id]

    def has_user(self, object_id: str) -> bool:
        return object_id in self._users

    @property
    def users(self) -> list[dict]:
        """The current listing (a snapshot list, rebuilt only after a change)."""
        with self.lock:
            if self._snapshot is None:
                self._snapshot = list(self._users.values())
            return self._snapshot


@dataclass
class Token:
    access_token: str
    tenant_id: str
    client_id: str
    roles: frozenset[str]
    expires_at: float


class Directory:
    """Every tenant the fake knows, and the access tokens it issued."""

    def __init__(self):
        self.tenants: dict[str, Tenant] = {}
        self.tokens: dict[str, Token] = {}
        self.token_lifetime = 3599
        self.lock = threading.Lock()

    def add_tenant(self, tenant_id: str | None = None, *, domain: str | None = None) -> Tenant:
        tenant_id = tenant_id or str(uuid.uuid4())
        tenant = Tenant(tenant_id, domain or f"t{tenant_id[:8]}.onmicrosoft.com")
        self.tenants[tenant_id] = tenant
        return tenant

    def tenant(self, name: str) -> Tenant | None:
        """By GUID, or by its primary domain (Microsoft accepts both in the authority)."""
        name = name.lower()
        for tenant in self.tenants.values():
            if tenant.tenant_id.lower() == name or tenant.domain.lower() == name:
                return tenant
        return None

    def issue_token(self, tenant: Tenant, app: App) -> Token:
        token = Token(
            access_token="fake-at." + pysecrets.token_urlsafe(24),
            tenant_id=tenant.tenant_id,
            client_id=app.client_id,
            roles=frozenset(app.permissions),
            expires_at=time.time() + self.token_lifetime,
        )
        with self.lock:
            self.tokens[token.access_token] = token
        return token

    def token(self, access_token: str) -> Token | None:
        token = self.tokens.get(access_token)
        if token is None or token.expires_at <= time.time():
            return None
        return token

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()
            self.tokens.clear()
            self.token_lifetime = 3599


def new_secret_value() -> str:
    """Looks like an Entra secret value (40 chars, with the ~ Microsoft puts in them)."""
    return pysecrets.token_urlsafe(6)[:3] + "8Q~" + pysecrets.token_urlsafe(30)[:34]
