"""Who a company looks up: the groups a manager chooses, found by name and named as Microsoft names them."""
from __future__ import annotations

import logging

from aadsync import crypto
from aadsync.errors import SyncError
from aadsync.microsoft.check import CHECK_RETRY, CHECK_TIMEOUT
from aadsync.microsoft.graph import GraphClient
from aadsync.microsoft.groups import group_get, groups_search
from aadsync.microsoft.tokens import Credentials, TokenSource
from aadsync.models import AadSettings
from aadsync.services import aad_secret_plain
from directory.models import Company

logger = logging.getLogger(__name__)
# Answers that mean Microsoft could not be asked now, not that a group is wrong: the names stay as they were.
UNCONFIRMED = {"unreachable", "unavailable", "throttled", "throttled_past_limit", "login_unavailable", "check_busy"}


def _client(credentials: Credentials) -> GraphClient:
    return GraphClient(TokenSource(credentials, timeout=CHECK_TIMEOUT), retry=CHECK_RETRY, timeout=CHECK_TIMEOUT)


def saved_credentials(row: AadSettings) -> Credentials:
    """The company's saved credentials; SyncError when there are none to ask Microsoft with."""
    if not row.is_complete:
        raise SyncError("groups_need_settings")
    try:
        return Credentials(tenant_id=row.tenant_id, client_id=row.client_id, secret=aad_secret_plain(settings_row=row))
    except crypto.SecretUnreadable:
        raise SyncError("secret_unreadable") from None


def scope_groups_search(*, company: Company, text: str) -> list[dict]:
    """The tenant's groups whose name matches `text`, asked with the saved credentials (SyncError on refusal)."""
    row = AadSettings.objects.filter(company=company).first()
    if row is None:
        raise SyncError("groups_need_settings")
    client = _client(saved_credentials(row))
    try:
        return groups_search(client, text)
    finally:
        client.close()


def scope_groups_resolve(*, credentials: Credentials, ids: list[str], known: list[dict]) -> list[dict]:
    """The chosen groups as {"id", "name"}, named by Microsoft. A group Microsoft does not know, or a missing
    permission, raises its SyncError; when Microsoft cannot be asked now, the names already known are kept."""
    names = {group["id"]: group.get("name") or group["id"] for group in known}
    client = _client(credentials)
    try:
        resolved = []
        for group_id in ids:
            try:
                group = group_get(client, group_id)
            except SyncError as error:
                if error.code not in UNCONFIRMED:
                    raise
                logger.info("Group %s could not be named now (%s); keeping what was known", group_id, error.code)
                resolved.append({"id": group_id, "name": names.get(group_id, group_id)})
                continue
            resolved.append({"id": group["id"].lower(), "name": group["name"]})
        return resolved
    finally:
        client.close()


def scope_groups_for_save(*, row: AadSettings, data: dict, secret: str, verify: bool = True) -> list[dict]:
    """What a save stores as the look-up's groups: [] for All users, else the chosen IDs named by Microsoft (asked
    with the credentials being saved) or, unverified, by what was known. Raises a SyncError for a group Microsoft
    does not know or a missing permission."""
    if data.get("scope") != AadSettings.Scope.GROUPS:
        return []
    ids = list(data["scope_groups"])
    names = {group["id"]: group.get("name") or group["id"] for group in row.scope_groups}
    same_app = data.get("tenant_id") == row.tenant_id and data.get("client_id") == row.client_id
    if not verify or (all(group_id in names for group_id in ids) and same_app and not secret):
        return [{"id": group_id, "name": names.get(group_id, group_id)} for group_id in ids]
    if secret:
        credentials = Credentials(tenant_id=data.get("tenant_id", ""), client_id=data.get("client_id", ""),
                                  secret=secret)
    else:
        credentials = saved_credentials(row)
    return scope_groups_resolve(credentials=credentials, ids=ids, known=row.scope_groups)
