"""login.microsoftonline.com: OIDC discovery and the token endpoint (client credentials; more grants plug in)."""
from __future__ import annotations

import base64
import time
import uuid
from urllib.parse import unquote_plus

from tests.fakems.wire import Response

TENANT = r"/(?P<tenant>[^/]+)"


def register(ms) -> None:
    ms.router.add("GET", TENANT + r"/v2\.0/\.well-known/openid-configuration", discovery, name="discovery")
    ms.router.add("POST", TENANT + r"/oauth2/v2\.0/token", token, name="token")
    ms.grant_handlers["client_credentials"] = client_credentials_grant


def aad_error(status: int, error: str, code: int, message: str) -> Response:
    """An identity-platform error body, shaped as Microsoft's (AADSTS code first in the description)."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return Response.json(status, {
        "error": error,
        "error_description": f"AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {correlation} "
                             f"Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    })


def unknown_tenant(name: str) -> Response:
    return aad_error(400, "invalid_tenant", 90002,
                     f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing "
                     "into the correct cloud.")


def discovery(ms, request, tenant):
    found = ms.directory.tenant(tenant)
    if found is None:
        return unknown_tenant(tenant)
    base = f"{ms.authority_host}/{found.tenant_id}"
    return Response.json(200, {
        "issuer": ms.issuer(found.tenant_id),
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "jwks_uri": f"{ms.authority_host}/{found.tenant_id}/discovery/v2.0/keys",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "oid", "tid",
                             "preferred_username", "email"],
        "tenant_region_scope": "AS",
        "cloud_instance_name": "microsoftonline.com",
    })


def client_credentials(request) -> tuple[str | None, str | None]:
    """client_id and client_secret from the form body or from HTTP Basic authentication."""
    form = request.form
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            basic_id, _, basic_secret = base64.b64decode(auth[6:]).decode().partition(":")
            client_id, secret = client_id or unquote_plus(basic_id), secret or unquote_plus(basic_secret)
        except ValueError:
            pass
    return client_id, secret


def token(ms, request, tenant):
    found = ms.directory.tenant(tenant)
    if found is None:
        return unknown_tenant(tenant)
    grant = request.form.get("grant_type", "")
    handler = ms.grant_handlers.get(grant)
    if handler is None:
        return aad_error(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{grant}'.")
    return handler(ms, request, found)


def authenticate_app(ms, request, tenant):
    """The app registration the request authenticates as, or an error Response (as Microsoft answers)."""
    client_id, secret = client_credentials(request)
    app = tenant.apps.get(client_id or "")
    if app is None:
        return None, aad_error(
            400, "unauthorized_client", 700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant.domain}'. This can "
            "happen if the application has not been installed by the administrator of the tenant or consented to "
            "by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
    verdict = app.check_secret(secret)
    if verdict == "wrong":
        return None, aad_error(
            401, "invalid_client", 7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{app.client_id}'.")
    if verdict == "expired":
        return None, aad_error(
            401, "invalid_client", 7000222,
            f"The provided client secret keys for app '{app.client_id}' are expired. Visit the Azure portal to "
            "create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate "
            "credentials for added security: https://aka.ms/certCreds.")
    return app, None


def client_credentials_grant(ms, request, tenant):
    app, error = authenticate_app(ms, request, tenant)
    if error is not None:
        return error
    if request.form.get("scope") != ms.graph_scope:
        return aad_error(400, "invalid_scope", 1002012,
                         f"The provided value for scope {request.form.get('scope')} is not valid. Client credential "
                         "flows must have a scope value with /.default suffixed to the resource identifier.")
    issued = ms.directory.issue_token(tenant, app)
    lifetime = int(issued.expires_at - time.time() + 0.5)
    return Response.json(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                               "access_token": issued.access_token})
