"""Verify a Microsoft id_token ourselves (msal 1.39 checks only the nonce): signature, aud, iss, tid, time, nonce."""
import hashlib
import logging

import jwt
import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

JWKS_CACHE_SECONDS = 3600
CLOCK_SKEW_SECONDS = 120
HTTP_TIMEOUT = (5, 10)


class IdTokenRejected(Exception):
    """The id_token cannot be trusted; the message says why (it never holds the token)."""


def tenant_discovery(tenant_id: str) -> dict[str, str]:
    """The tenant's OpenID configuration as far as the check needs it: `jwks_uri` and `issuer` (with `{tenantid}`
    replaced), cached with the keys. The issuer is Microsoft's word, never rebuilt from the host the portal
    reaches: aliases (login.microsoft.com, login.windows.net) and China (reached at login.chinacloudapi.cn, issuer
    on login.partner.microsoftonline.cn) name another host than the one asked."""
    url = f"{settings.AAD_AUTHORITY_HOST}/{tenant_id}/v2.0/.well-known/openid-configuration"
    cache_key = f"aad:oidc-config:v2:{hashlib.sha256(url.encode()).hexdigest()}"
    found = cache.get(cache_key)
    if found is None:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        found = {"jwks_uri": str(document["jwks_uri"]),
                 "issuer": str(document["issuer"]).replace("{tenantid}", tenant_id)}
        cache.set(cache_key, found, JWKS_CACHE_SECONDS)
    return found


def expected_issuer(tenant_id: str) -> str:
    return tenant_discovery(tenant_id)["issuer"]


def jwks_uri_for(tenant_id: str) -> str:
    return tenant_discovery(tenant_id)["jwks_uri"]


def _jwks(jwks_uri: str, *, refresh: bool) -> dict:
    cache_key = f"aad:jwks:{hashlib.sha256(jwks_uri.encode()).hexdigest()}"
    keys = None if refresh else cache.get(cache_key)
    if keys is None:
        response = requests.get(jwks_uri, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        keys = response.json()
        cache.set(cache_key, keys, JWKS_CACHE_SECONDS)
    return keys


def signing_key(tenant_id: str, kid: str):
    """The tenant's public key with this key id; the cached JWKS is refreshed once for an unknown id."""
    jwks_uri = jwks_uri_for(tenant_id)
    for refresh in (False, True):
        keyset = jwt.PyJWKSet.from_dict(_jwks(jwks_uri, refresh=refresh))
        for key in keyset.keys:
            if key.key_id == kid:
                return key.key
        logger.info("Signing key %s not in the cached JWKS of tenant %s; refreshing once", kid, tenant_id)
    raise IdTokenRejected("Microsoft's sign-in answer was signed with an unknown key.")


def verify_id_token(id_token: str, *, tenant_id: str, client_id: str, nonce: str | None) -> dict:
    """Claims of a verified id_token, or IdTokenRejected with the reason.

    `nonce` is the flow's plain nonce; the token carries its SHA-256 hex digest (msal's convention).
    """
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise IdTokenRejected("Microsoft's sign-in answer was not a valid token.") from None
    if header.get("alg") != "RS256" or not header.get("kid"):
        raise IdTokenRejected("Microsoft's sign-in answer was not signed as expected.")
    try:
        key = signing_key(tenant_id, header["kid"])
        issuer = expected_issuer(tenant_id)
    except (requests.RequestException, KeyError, ValueError, TypeError, jwt.PyJWTError):
        raise IdTokenRejected("Microsoft's signing keys could not be read; try again in a minute.") from None
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "aud", "iss", "tid", "oid"]},
        )
    except jwt.InvalidSignatureError:
        raise IdTokenRejected("Microsoft's sign-in answer has a bad signature.") from None
    except jwt.ExpiredSignatureError:
        raise IdTokenRejected("Microsoft's sign-in answer has expired; sign in again.") from None
    except jwt.ImmatureSignatureError:
        raise IdTokenRejected("Microsoft's sign-in answer is not valid yet; check this server's clock.") from None
    except jwt.InvalidAudienceError:
        raise IdTokenRejected("Microsoft's sign-in answer was issued to another application.") from None
    except jwt.InvalidIssuerError:
        raise IdTokenRejected("Microsoft's sign-in answer came from another tenant.") from None
    except jwt.PyJWTError as error:
        raise IdTokenRejected(f"Microsoft's sign-in answer was refused ({type(error).__name__}).") from None
    if str(claims["tid"]).lower() != tenant_id.lower():
        raise IdTokenRejected("Microsoft's sign-in answer came from another tenant.")
    # OpenID Connect Core 3.1.3.7: with several audiences the token must name us as its authorized party; a
    # token issued to another app that merely lists ours among its audiences is not ours.
    if (isinstance(claims["aud"], list) or "azp" in claims) and claims.get("azp") != client_id:
        raise IdTokenRejected("Microsoft's sign-in answer was issued to another application.")
    if nonce is not None and claims.get("nonce") != hashlib.sha256(nonce.encode()).hexdigest():
        raise IdTokenRejected("Microsoft's sign-in answer does not belong to this sign-in (nonce mismatch).")
    return claims
