"""graph.microsoft.com/v1.0: `/groups` found by name ($search with ConsistencyLevel: eventual, or $filter with
startswith), `/groups/{id}`, and `/groups/{id}/transitiveMembers/microsoft.graph.user` (nested members, users only,
999 a page)."""
from __future__ import annotations

import re

from tests.fakems.graph_routes import (
    MAX_PAGE,
    authorize,
    graph_error,
    listing_options,
    page_link,
    parse_top,
    project,
)
from tests.fakems.wire import Response, decode_token

# Application permissions that may read groups and their members.
READ_GROUPS_ROLES = {"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
                     "Directory.ReadWrite.All"}
GROUP_PROPERTIES = ("id", "displayName", "groupTypes", "securityEnabled", "mailEnabled", "mail", "description")
SEARCH = re.compile(r'^"displayName:(?P<text>[^"]*)"$')
STARTSWITH = re.compile(r"^startswith\(displayName,\s*'(?P<text>(?:[^']|'')*)'\)$", re.IGNORECASE)


def register(ms) -> None:
    ms.router.add("GET", r"/v1\.0/groups", list_groups, name="groups")
    ms.router.add("GET", r"/v1\.0/groups/(?P<group_id>[^/]+)", get_group, name="group")
    ms.router.add("GET", r"/v1\.0/groups/(?P<group_id>[^/]+)/transitiveMembers/microsoft\.graph\.user",
                  transitive_users, name="group_members")


def _authorized(ms, request):
    return authorize(ms, request, roles=READ_GROUPS_ROLES)


def _select_groups(request) -> list[str]:
    raw = request.query.get("$select")
    return [name for name in raw.split(",") if name in GROUP_PROPERTIES] if raw else list(GROUP_PROPERTIES)


def list_groups(ms, request):
    token, error = _authorized(ms, request)
    if error is not None:
        return error
    groups = list(ms.directory.tenants[token.tenant_id].groups.by_id.values())
    if "$search" in request.query:
        if request.headers.get("consistencylevel", "").lower() != "eventual":
            return graph_error(400, "Request_UnsupportedQuery", "Request with $search query parameter only works "
                                                                "through MSGraph with a special request header: "
                                                                "'ConsistencyLevel: eventual'")
        match = SEARCH.match(request.query["$search"])
        if match is None:
            return graph_error(400, "Request_UnsupportedQuery", "Unsupported $search syntax.")
        words = match["text"].lower().split()  # Graph matches each word at the start of a word of the name
        groups = [g for g in groups if all(any(part.startswith(word) for part in g.display_name.lower().split())
                                           for word in words)]
    elif "$filter" in request.query:
        match = STARTSWITH.match(request.query["$filter"])
        if match is None:
            return graph_error(400, "Request_UnsupportedQuery", f"Unsupported filter: {request.query['$filter']}")
        prefix = match["text"].replace("''", "'").lower()
        groups = [g for g in groups if g.display_name.lower().startswith(prefix)]
    size, error = parse_top(request)
    if error is not None:
        return error
    select = _select_groups(request)
    return Response.json(200, {"@odata.context": f"{ms.graph_url}/$metadata#groups",
                               "value": [project(g.resource(), select) for g in groups[:size]]})


def _group(ms, token, group_id):
    found = ms.directory.tenants[token.tenant_id].groups.by_id.get(group_id.lower())
    if found is None:
        return None, graph_error(404, "Request_ResourceNotFound",
                                 f"Resource '{group_id}' does not exist or one of its queried reference-property "
                                 "objects are not present.")
    return found, None


def get_group(ms, request, group_id):
    token, error = _authorized(ms, request)
    if error is not None:
        return error
    group, error = _group(ms, token, group_id)
    if error is not None:
        return error
    return Response.json(200, project(group.resource(), _select_groups(request)))


def transitive_users(ms, request, group_id):
    """The group's users, nested groups followed, each once; pages of $top (default 100, at most 999)."""
    token, error = _authorized(ms, request)
    if error is not None:
        return error
    group, error = _group(ms, token, group_id)
    if error is not None:
        return error
    select, size, error = listing_options(request)
    if error is not None:
        return error
    size = min(ms.page_size_override or size, MAX_PAGE)
    tenant = ms.directory.tenants[token.tenant_id]
    offset = 0
    if "$skiptoken" in request.query:
        state = decode_token(request.query["$skiptoken"]) or {}
        offset = int(state.get("o", 0))
    ids = [object_id for object_id in tenant.groups.transitive_user_ids(group.id) if tenant.has_user(object_id)]
    chunk = ids[offset: offset + size]
    data = {"@odata.context": f"{ms.graph_url}/$metadata#users({','.join(select)})",
            "value": [{"@odata.type": "#microsoft.graph.user", **project(tenant.user(oid), select, ms)}
                      for oid in chunk]}
    if offset + size < len(ids):
        data["@odata.nextLink"] = page_link(ms, f"/groups/{group.id}/transitiveMembers/microsoft.graph.user",
                                            request, "$skiptoken", {"t": token.tenant_id, "o": offset + size,
                                                                    "p": request.page + 1})
    return Response.json(200, data)
