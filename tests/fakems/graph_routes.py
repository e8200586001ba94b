"""graph.microsoft.com/v1.0: `/users` with real $select, $top (1-999, default 100) and $skiptoken paging."""
from __future__ import annotations

import time
import uuid

from tests.fakems.wire import Response, decode_token, encode_token

DEFAULT_PAGE = 100
MAX_PAGE = 999
# What Graph returns for a user when the request has no $select (accountEnabled and userType are not in it).
DEFAULT_PROPERTIES = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                      "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
KNOWN_PROPERTIES = DEFAULT_PROPERTIES + ["accountEnabled", "userType", "department", "companyName",
                                         "createdDateTime", "employeeId", "onPremisesImmutableId", "usageLocation"]
_CANONICAL = {name.lower(): name for name in KNOWN_PROPERTIES}
READ_USERS_ROLES = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}


def register(ms) -> None:
    ms.router.add("GET", r"/v1\.0/users", list_users, name="users")


def graph_error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message, "innerError": {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}}}, headers)


def authorize(ms, request, roles=READ_USERS_ROLES):
    """(token, None) for a valid bearer token holding one of `roles`, else (None, error Response)."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        return None, graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
    token = ms.directory.token(auth[7:])
    if token is None:
        return None, graph_error(401, "InvalidAuthenticationToken",
                                 "Lifetime validation failed, the token is expired.",
                                 {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})
    if not token.roles & roles:
        return None, graph_error(403, "Authorization_RequestDenied",
                                 "Insufficient privileges to complete the operation.")
    return token, None


def parse_select(request):
    """The $select list in canonical casing, or an error Response for an unknown property."""
    raw = request.query.get("$select")
    if raw is None:
        return DEFAULT_PROPERTIES, None
    names = []
    for part in raw.split(","):
        name = _CANONICAL.get(part.strip().lower())
        if name is None:
            return None, graph_error(400, "Request_BadRequest",
                                     f"Could not find a property named '{part.strip()}' on type 'microsoft.graph.user'.")
        names.append(name)
    return names, None


def parse_top(request):
    raw = request.query.get("$top")
    if raw is None:
        return DEFAULT_PAGE, None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        return None, graph_error(400, "Request_UnsupportedQuery",
                                 f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE} inclusive.")
    return int(raw), None


def page_link(ms, path: str, request, token_name: str, state: dict) -> str:
    """A next/delta link as Graph writes them: the original query options plus an opaque token."""
    keep = [f"{name}={request.query[name]}" for name in ("$select", "$top", "$filter")
            if name in request.query]
    keep.append(f"{token_name}={encode_token(state)}")
    return f"{ms.graph_url}{path}?" + "&".join(keep)


def project(user: dict, names: list[str]) -> dict:
    return {name: user.get(name) for name in names}


def list_users(ms, request):
    token, error = authorize(ms, request)
    if error is not None:
        return error
    select, error = parse_select(request)
    if error is not None:
        return error
    size, error = parse_top(request)
    if error is not None:
        return error
    size = ms.page_size_override or size
    offset, page = 0, 1
    if "$skiptoken" in request.query:
        state = decode_token(request.query["$skiptoken"])
        if not state or state.get("t") != token.tenant_id:
            return graph_error(400, "Directory_ExpiredPageToken", "The specified page token value has expired "
                                                                  "and can no longer be included in your request.")
        offset, page = int(state["o"]), int(state["p"])
    users = ms.directory.tenants[token.tenant_id].users
    chunk = users[offset: offset + size]
    data = {
        "@odata.context": f"{ms.graph_url}/$metadata#users({','.join(select)})",
        "value": [project(user, select) for user in chunk],
    }
    if offset + size < len(users):
        data["@odata.nextLink"] = page_link(
            ms, "/users", request, "$skiptoken", {"t": token.tenant_id, "o": offset + size, "p": page + 1})
    return Response.json(200, data)
