"""graph.microsoft.com/v1.0: `/applications(appId='...')`, an app registration with its passwordCredentials."""
from __future__ import annotations

import time

from tests.fakems.graph_routes import authorize, graph_error
from tests.fakems.wire import Response

# Application permissions that may read app registrations (Microsoft: Application.Read.All, or the app as owner
# with Application.ReadWrite.OwnedBy; the fake does not model owners and lets that one read every app).
READ_APPLICATIONS_ROLES = {"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy",
                           "Directory.Read.All", "Directory.ReadWrite.All"}
PROPERTIES = ("id", "appId", "displayName", "passwordCredentials")


def register(ms) -> None:
    ms.router.add("GET", r"/v1\.0/applications\(appId=(?:'|%27)(?P<app_id>[^'%]*)(?:'|%27)\)", application_by_app_id,
                  name="application")


def iso(seconds: float) -> str:
    """A Unix time as Graph writes it: 2027-05-01T10:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def password_credential(secret) -> dict:
    return {"customKeyIdentifier": None, "displayName": secret.display_name, "endDateTime": iso(secret.end),
            "hint": secret.hint, "keyId": secret.key_id, "secretText": None, "startDateTime": iso(secret.created_at)}


def application_by_app_id(ms, request, app_id):
    """The app registration `app_id` of the caller's tenant, its properties limited by $select: 403
    Authorization_RequestDenied without a permission to read applications, 404 for an unknown app."""
    token, error = authorize(ms, request, roles=READ_APPLICATIONS_ROLES)
    if error is not None:
        return error
    tenant = ms.directory.tenants[token.tenant_id]
    app = tenant.apps.get(app_id)
    if app is None:
        return graph_error(404, "Request_ResourceNotFound",
                           f"Resource '{app_id}' does not exist or one of its queried reference-property objects "
                           "are not present.")
    names = [part.strip() for part in request.query.get("$select", ",".join(PROPERTIES)).split(",") if part.strip()]
    unknown = [name for name in names if name not in PROPERTIES]
    if unknown:
        return graph_error(400, "Request_BadRequest",
                           f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.application'.")
    values = {"id": f"obj-{app.client_id}", "appId": app.client_id, "displayName": f"App {app.client_id[:8]}",
              "passwordCredentials": [password_credential(secret) for secret in app.secrets]}
    data = {"@odata.context": f"{ms.graph_url}/$metadata#applications({','.join(names)})/$entity"}
    data.update({name: values[name] for name in names})
    return Response.json(200, data)
