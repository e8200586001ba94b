"""graph.microsoft.com/v1.0: `/users` with real $select, $top (1-999, default 100), $skiptoken paging and
`$filter=id in (...)`; `/users/delta` (also as `/users/delta()` and `/users/microsoft.graph.delta`, which the SDKs
call) with paging, change rounds, `$deltatoken=latest`, Prefer: return=minimal and expiring tokens."""
from __future__ import annotations

import re
import time
import uuid

from tests.fakems.wire import Response, decode_token, encode_token

DEFAULT_PAGE = 100
MAX_PAGE = 999
# What Graph returns for a user when the request has no $select (accountEnabled and userType are not in it).
DEFAULT_PROPERTIES = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                      "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
# Every property of the v1.0 user resource that $select may name (Graph refuses an unknown one with a 400).
KNOWN_PROPERTIES = [
    *DEFAULT_PROPERTIES, "aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans", "birthday",
    "city", "companyName", "consentProvidedForMinor", "country", "createdDateTime", "creationType", "deletedDateTime",
    "department", "employeeHireDate", "employeeId", "employeeLeaveDateTime", "employeeOrgData", "employeeType",
    "externalUserState", "externalUserStateChangeDateTime", "faxNumber", "hireDate", "identities", "imAddresses",
    "interests", "isResourceAccount", "lastPasswordChangeDateTime", "legalAgeGroupClassification",
    "licenseAssignmentStates", "mailboxSettings", "mailNickname", "mySite", "onPremisesDistinguishedName",
    "onPremisesDomainName", "onPremisesExtensionAttributes", "onPremisesImmutableId", "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "passwordProfile",
    "pastProjects", "postalCode", "preferredDataLocation", "preferredName", "provisionedPlans", "proxyAddresses",
    "responsibilities", "schools", "securityIdentifier", "showInAddressList", "signInActivity",
    "signInSessionsValidFromDateTime", "skills", "state", "streetAddress", "usageLocation", "userType",
]
_CANONICAL = {name.lower(): name for name in KNOWN_PROPERTIES}
READ_USERS_ROLES = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}


DELTA_PAGE = 200  # Graph pages users/delta by at most 200, whatever the client asks
DELTA_TOKEN_TTL = 7 * 24 * 3600  # delta tokens for directory objects live about 7 days


ID_IN = re.compile(r"^\s*id\s+in\s*\((?P<ids>[^)]*)\)\s*$", re.IGNORECASE)
MAX_IDS_IN = 15


def register(ms) -> None:
    ms.router.add("GET", r"/v1\.0/users", list_users, name="users")
    # /delta is a shortcut for the fully qualified /microsoft.graph.delta; the SDKs call the function form.
    ms.router.add("GET", r"/v1\.0/users/(?:delta|delta\(\)|microsoft\.graph\.delta(?:\(\))?)", users_delta,
                  name="users_delta")


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


def project(user: dict, names: list[str], ms=None) -> dict:
    if ms is not None and ms.raw_users:  # a payload as stored: missing keys stay missing, extra keys stay
        return dict(user)
    return {name: user.get(name) for name in names}


def listing_options(request):
    """($select, $top) of a users listing, or an error Response."""
    select, error = parse_select(request)
    if error is not None:
        return None, None, error
    size, error = parse_top(request)
    return select, size, error


def list_users(ms, request):
    token, error = authorize(ms, request)
    if error is not None:
        return error
    select, size, error = listing_options(request)
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
    tenant = ms.directory.tenants[token.tenant_id]
    users = tenant.users
    if "$filter" in request.query:
        users, error = filter_by_ids(tenant, request.query["$filter"])
        if error is not None:
            return error
    chunk = users[offset: offset + size]
    data = {
        "@odata.context": f"{ms.graph_url}/$metadata#users({','.join(select)})",
        "value": [project(user, select, ms) for user in chunk],
    }
    if offset + size < len(users):
        data["@odata.nextLink"] = page_link(
            ms, "/users", request, "$skiptoken", {"t": token.tenant_id, "o": offset + size, "p": page + 1})
    return Response.json(200, data)


def filter_by_ids(tenant, expression: str):
    """`id in ('a','b',...)`: the users with these ids that exist (at most 15 ids), in the order asked."""
    match = ID_IN.match(expression)
    if match is None:
        return None, graph_error(400, "Request_UnsupportedQuery", f"Unsupported query: $filter={expression}")
    ids = [part.strip().strip("'") for part in match["ids"].split(",") if part.strip()]
    if len(ids) > MAX_IDS_IN:
        return None, graph_error(400, "Request_UnsupportedQuery",
                                 f"Too many values in an 'in' operator: {len(ids)} (at most {MAX_IDS_IN}).")
    found = []
    for object_id in ids:
        try:
            found.append(tenant.user(object_id.lower()))
        except KeyError:
            continue
    return found, None


def delta_expired(ms, request) -> Response:
    """How Microsoft says a delta token is gone: 400 syncStateNotFound (the directory's answer after about 7 days),
    400 resyncRequired, or 410 Gone with a Location to start again from (`expire_delta_tokens` picks one)."""
    status, code = ms.delta_expired_answer
    if status == 410:
        restart = f"{ms.graph_url}/users/delta" + (f"?$select={request.query['$select']}"
                                                   if "$select" in request.query else "")
        return graph_error(410, code or "resyncRequired", "The delta token is no longer valid; a full "
                                                          "synchronization is required.", {"Location": restart})
    return graph_error(status, code or "syncStateNotFound", "The sync state generation is not found. The delta "
                                                             "token is expired and data must be synchronized again.")


def delta_page_size(ms, request) -> int:
    size = ms.page_size_override or ms.delta_page_size
    prefer = request.headers.get("prefer", "")
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "odata.maxpagesize" and value.isdigit():
            size = min(size, max(1, int(value)))
    return size


def users_delta(ms, request):
    """Delta query: an initial round lists every user (soft-deleted ones as @removed) and ends with a
    deltaLink; a round from a deltaLink returns only the users changed since, @removed for deleted ones.
    `Prefer: return=minimal` sends only the changed properties of changed users."""
    token, error = authorize(ms, request)
    if error is not None:
        return error
    select, error = parse_select(request)
    if error is not None:
        return error
    tenant = ms.directory.tenants[token.tenant_id]
    minimal = "return=minimal" in request.headers.get("prefer", "").replace(" ", "").lower()
    size = delta_page_size(ms, request)
    if request.query.get("$deltatoken", "").lower() == "latest":
        # "Sync from now": no users, and a deltaLink from which the next round reports what changes after now.
        data = {"@odata.context": f"{ms.graph_url}/$metadata#users({','.join(select)})", "value": [],
                "@odata.deltaLink": page_link(ms, "/users/delta", request, "$deltatoken", {
                    "t": token.tenant_id, "s": tenant.seq, "g": tenant.delta_generation, "at": time.time()})}
        return Response.json(200, data)
    if "$deltatoken" in request.query:  # a new round from a stored deltaLink
        state = decode_token(request.query["$deltatoken"])
        if (not state or state.get("t") != token.tenant_id or state.get("g") != tenant.delta_generation
                or time.time() - state.get("at", 0) > ms.delta_token_ttl):
            return delta_expired(ms, request)
        state = {"t": token.tenant_id, "k": "changes", "s": state["s"], "e": tenant.seq, "o": 0, "p": 1}
    elif "$skiptoken" in request.query:  # the next page of a round
        state = decode_token(request.query["$skiptoken"])
        if not state or state.get("t") != token.tenant_id:
            return delta_expired(ms, request)
    else:  # an initial round: everything now, and changes from now on in the next round
        state = {"t": token.tenant_id, "k": "initial", "s": tenant.seq, "e": tenant.seq, "o": 0, "p": 1}

    items, total = _round_entries(ms, state, tenant, select, minimal, size)
    if ms.delta_repeats and state["o"] + size >= total and state["o"] > 0:  # the round's last page, not its first
        items += _round_entries(ms, {**state, "o": 0}, tenant, select, minimal, ms.delta_repeats)[0]
    data = {"@odata.context": f"{ms.graph_url}/$metadata#users({','.join(select)})", "value": items}
    if state["o"] + size < total:
        data["@odata.nextLink"] = page_link(ms, "/users/delta", request, "$skiptoken",
                                            {**state, "o": state["o"] + size, "p": state["p"] + 1})
    else:
        data["@odata.deltaLink"] = page_link(ms, "/users/delta", request, "$deltatoken", {
            "t": token.tenant_id, "s": state["e"], "g": tenant.delta_generation, "at": time.time()})
    headers = {"Preference-Applied": "return=minimal"} if minimal else {}
    return Response.json(200, data, headers)


def _round_entries(ms, state: dict, tenant, select: list[str], minimal: bool, size: int) -> tuple[list[dict], int]:
    """A delta round's entries from offset state["o"] (at most `size`), and how many the round has in all."""
    if state["k"] == "initial":
        users = tenant.users
        items = [project(user, select, ms) for user in users[state["o"]: state["o"] + size]]
        total = len(users) + len(tenant.soft_deleted)
        if len(items) < size:  # soft-deleted users close an initial round, as @removed
            extra = list(tenant.soft_deleted.items())[max(0, state["o"] - len(users)):][: size - len(items)]
            items += [{"id": object_id, "@removed": {"reason": reason}} for object_id, reason in extra]
    else:
        # Changes to properties the round does not $select are not reported (a removal or a new user always is).
        tracked = set(select)
        changes = [change for change in tenant.changes_between(state["s"], state["e"])
                   if change[1] is None or change[2] is not None or change[1] & tracked]
        total = len(changes)
        items = []
        for object_id, props, reason in changes[state["o"]: state["o"] + size]:
            if reason is not None:
                items.append({"id": object_id, "@removed": {"reason": reason}})
                continue
            user = tenant.user(object_id)
            if minimal and props is not None:
                names = ["id"] + [name for name in select if name in props and name != "id"]
            elif minimal:  # a new user under return=minimal: what it has, without nulls
                names = [name for name in select if name == "id" or user.get(name) is not None]
            else:
                names = select
            items.append(project(user, names, ms))
    return items, total
