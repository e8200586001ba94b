"""Groups in Graph: find them by name for the MS AAD page, read one by id, and list a group's users (nested too)."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from aadsync.errors import SyncError
from aadsync.microsoft.graph import PAGE_SIZE, USER_FIELDS, GraphClient, Page

SEARCH_RESULTS = 20
GROUP_FIELDS = "id,displayName,groupTypes,securityEnabled,mailEnabled"


def _groups_errors(error: SyncError, *, group: str = "") -> SyncError:
    """Graph's refusals about groups in the product's sentences: which permission to grant, which group is gone."""
    if error.code == "permission_missing":
        return SyncError("group_permission_missing")
    if error.code == "graph_failed" and error.details.get("status") == 404:
        return SyncError("group_not_found", group=group or "a chosen group")
    return error


def group_kind(group: dict) -> str:
    """"Microsoft 365" for a Unified group, "Security" for a security group, "Distribution" otherwise."""
    if "Unified" in (group.get("groupTypes") or []):
        return "Microsoft 365"
    return "Security" if group.get("securityEnabled") else "Distribution"


def groups_search(client: GraphClient, text: str) -> list[dict]:
    """The tenant's groups whose name has a word starting with each word of `text` ($search, eventual
    consistency), at most SEARCH_RESULTS, as {"id", "name", "kind"}."""
    words = " ".join(text.replace('"', " ").split())[:100]
    if not words:
        return []
    search = quote('"displayName:' + words + '"')
    url = (f"{client.graph_url}/groups?$search={search}&$select={GROUP_FIELDS}"
           f"&$top={SEARCH_RESULTS}&$orderby=displayName")
    try:
        data = client.get_page(url, headers={"ConsistencyLevel": "eventual"})
    except SyncError as error:
        raise _groups_errors(error) from None
    return [{"id": group["id"], "name": group.get("displayName") or group["id"], "kind": group_kind(group)}
            for group in data["value"] if isinstance(group, dict) and group.get("id")]


def group_get(client: GraphClient, group_id: str) -> dict:
    """One group as {"id", "name", "kind"}; SyncError group_not_found when the tenant has no such group."""
    try:
        group = client.get_page(f"{client.graph_url}/groups/{group_id}?$select={GROUP_FIELDS}", expect_list=False)
    except SyncError as error:
        raise _groups_errors(error, group=group_id) from None
    return {"id": group["id"], "name": group.get("displayName") or group["id"], "kind": group_kind(group)}


def group_user_pages(client: GraphClient, group: dict) -> Iterator[Page]:
    """Every user of the group, nested groups followed (transitiveMembers, users only), 999 a page."""
    url = (f"{client.graph_url}/groups/{group['id']}/transitiveMembers/microsoft.graph.user"
           f"?$select={','.join(USER_FIELDS)}&$top={PAGE_SIZE}")
    try:
        yield from client.pages(url)
    except SyncError as error:
        raise _groups_errors(error, group=group.get("name") or group["id"]) from None
