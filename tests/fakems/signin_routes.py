"""The fake's sign-in half: authorize (choose which fake user signs in), the authorization-code grant with
PKCE verification, RS256 id_tokens, the JWKS endpoint and logout. Tests steer it through `ms.signin`."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakems.identity_routes import TENANT, aad_error, authenticate_app
from tests.fakems.wire import Response

CODE_LIFETIME = 300
ID_TOKEN_LIFETIME = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls) -> SigningKey:
        return cls(kid=_b64url(secrets.token_bytes(12)), private=rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict:
        numbers = self.private.public_key().public_numbers()

        def as_b64(value: int) -> str:
            return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": as_b64(numbers.n),
                "e": as_b64(numbers.e)}


@dataclass
class SignInControls:
    """What the next sign-ins do. `user` signs in without the chooser page; the rest make bad tokens."""

    user: str | None = None          # object ID to sign in as (else login_hint's match, else the chooser)
    claims: dict = field(default_factory=dict)  # claim overrides for the id_token (aud, iss, tid, exp, nonce, ...)
    sign_with: str = "jwks"          # "jwks" | "unknown-key" (a key not in the JWKS) | "bad-signature"
    keys: list[SigningKey] = field(default_factory=list)
    rogue: SigningKey | None = None
    codes: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.user, self.claims, self.sign_with = None, {}, "jwks"
        self.codes.clear()

    def rotate_key(self) -> SigningKey:
        """A new signing key, published first in the JWKS (as Microsoft rolls its keys)."""
        key = SigningKey.new()
        self.keys.insert(0, key)
        return key


_KEYS: list[SigningKey] = []


def register(ms) -> None:
    if not _KEYS:  # RSA key generation is slow-ish: one pair per test session
        _KEYS.extend([SigningKey.new(), SigningKey.new()])
    ms.signin = SignInControls(keys=[_KEYS[0]], rogue=_KEYS[1])
    ms.router.add("GET", TENANT + r"/oauth2/v2\.0/authorize", authorize, name="authorize")
    ms.router.add("GET", TENANT + r"/oauth2/v2\.0/logout", logout, name="logout")
    ms.router.add("GET", TENANT + r"/discovery/v2\.0/keys", keys, name="jwks")
    ms.grant_handlers["authorization_code"] = authorization_code_grant


def keys(ms, request, tenant):
    return Response.json(200, {"keys": [key.jwk() for key in ms.signin.keys]})


def _page(status: int, title: str, body: str) -> Response:
    document = f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>{body}</body></html>"
    return Response(status, document.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _error_page(code: int, message: str) -> Response:
    return _page(400, "Sign in to your account", f"<h1>Sorry, but we're having trouble signing you in.</h1>"
                 f"<p id='error'>AADSTS{code}: {html.escape(message)}</p>")


def _redirect(url: str, params: dict) -> Response:
    return Response(302, b"", {"Location": f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"})


def _find_user(tenant, hint: str | None):
    if not hint:
        return None
    hint = hint.lower()
    for user in tenant.users:
        if hint in {(user.get("userPrincipalName") or "").lower(), (user.get("mail") or "").lower(), user["id"]}:
            return user
    return None


def authorize(ms, request, tenant):
    found = ms.directory.tenant(tenant)
    if found is None:
        return _error_page(90002, f"Tenant '{tenant}' not found.")
    query = request.query
    app = found.apps.get(query.get("client_id", ""))
    if app is None:
        return _error_page(700016, f"Application with identifier '{query.get('client_id')}' was not found in the "
                                   f"directory '{found.domain}'.")
    redirect_uri = query.get("redirect_uri", "")
    if app.redirect_uris and redirect_uri not in app.redirect_uris:
        return _error_page(50011, f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                                  f"redirect URIs configured for the application '{app.client_id}'.")
    if query.get("response_type") != "code" or query.get("code_challenge_method", "S256") != "S256":
        return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": query.get("state", "")})
    # A resource scope must name this cloud's Graph host (a national cloud refuses graph.microsoft.com).
    foreign = [scope for scope in query.get("scope", "").split() if "://" in scope
               and not scope.startswith(ms.graph_host + "/")]
    if foreign:
        return _redirect(redirect_uri, {"error": "invalid_scope", "state": query.get("state", ""),
                                        "error_description": f"AADSTS70011: The provided value for the input "
                                                             f"parameter 'scope' is not valid: {foreign[0]}"})
    chosen = query.get("choose")
    user = (found.user(chosen) if chosen else None) or (
        found.user(ms.signin.user) if ms.signin.user else _find_user(found, query.get("login_hint"))
    )
    if user is None:
        links = []
        for candidate in found.users[:50]:
            choice = urlencode({**query, "choose": candidate["id"]})
            name = candidate.get("userPrincipalName") or candidate["id"]
            links.append(f"<li><a href='?{html.escape(choice)}'>{html.escape(name)}</a></li>")
        return _page(200, "Pick an account", f"<h1>Pick an account</h1><ul>{''.join(links)}</ul>")
    code = secrets.token_urlsafe(32)
    with ms.signin.lock:
        ms.signin.codes[code] = {
            "tenant": found.tenant_id, "client_id": app.client_id, "redirect_uri": redirect_uri,
            "challenge": query.get("code_challenge"), "nonce": query.get("nonce"), "oid": user["id"],
            "expires": time.time() + CODE_LIFETIME,
        }
    return _redirect(redirect_uri, {"code": code, "state": query.get("state", ""),
                                    "session_state": str(uuid.uuid4())})


def _pkce_matches(verifier: str | None, challenge: str | None) -> bool:
    if not verifier or not challenge:
        return False
    return secrets.compare_digest(_b64url(hashlib.sha256(verifier.encode()).digest()), challenge)


def id_token_for(ms, tenant, client_id: str, user: dict, nonce: str | None) -> str:
    now = int(time.time())
    claims = {
        "aud": client_id, "iss": ms.issuer(tenant.tenant_id), "iat": now, "nbf": now,
        "exp": now + ID_TOKEN_LIFETIME, "name": f"{user.get('givenName') or ''} {user.get('surname') or ''}".strip(),
        "oid": user["id"], "preferred_username": user.get("userPrincipalName"), "sub": _b64url(user["id"].encode()),
        "tid": tenant.tenant_id, "ver": "2.0", "rh": "0.fake.", "uti": _b64url(secrets.token_bytes(16)),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(ms.signin.claims)
    claims = {name: value for name, value in claims.items() if value is not None}
    key = ms.signin.keys[0] if ms.signin.sign_with != "unknown-key" else ms.signin.rogue
    token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})
    if ms.signin.sign_with == "bad-signature":
        head, body, signature = token.split(".")
        flipped = "A" if signature[5] != "A" else "B"
        token = ".".join([head, body, signature[:5] + flipped + signature[6:]])
    return token


def authorization_code_grant(ms, request, tenant):
    app, error = authenticate_app(ms, request, tenant)
    if error is not None:
        return error
    form = request.form
    with ms.signin.lock:
        issued = ms.signin.codes.pop(form.get("code", ""), None)  # a code is good once
    if issued is None or issued["expires"] < time.time() or issued["tenant"] != tenant.tenant_id \
            or issued["client_id"] != app.client_id:
        return aad_error(400, "invalid_grant", 70008,
                         "The provided authorization code or refresh token has expired due to inactivity.")
    if form.get("redirect_uri") != issued["redirect_uri"]:
        return aad_error(400, "invalid_grant", 500112, "The reply address does not match the reply address "
                                                       "provided when requesting the authorization code.")
    if not _pkce_matches(form.get("code_verifier"), issued["challenge"]):
        return aad_error(400, "invalid_grant", 501481,
                         "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
    user = tenant.user(issued["oid"])
    client_info = _b64url(json.dumps({"uid": user["id"], "utid": tenant.tenant_id}).encode())
    return Response.json(200, {
        "token_type": "Bearer", "scope": "User.Read openid profile email", "expires_in": 3599,
        "ext_expires_in": 3599, "access_token": "fake-user-at." + secrets.token_urlsafe(24),
        "id_token": id_token_for(ms, tenant, app.client_id, user, issued["nonce"]), "client_info": client_info,
    })


def logout(ms, request, tenant):
    target = request.query.get("post_logout_redirect_uri")
    if target:
        return Response(302, b"", {"Location": target})
    return _page(200, "Signed out", "<h1>You signed out of your account</h1>")
