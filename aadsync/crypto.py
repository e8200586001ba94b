"""Encryption at rest for client secrets: Fernet with several keys for rotation."""
import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was written with a key that is no longer configured."""


def _derived_dev_key() -> bytes:
    digest = hashlib.sha256(b"cmportal-field-encryption:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def configured_keys() -> tuple[str, ...]:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        keys = (_derived_dev_key().decode(),)
    return keys


def encrypt(plain: str) -> str:
    return _fernet(configured_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored client secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEY; "
            "enter the secret again on the MS AAD page."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (data written with older keys keeps reading until then)."""
    try:
        return _fernet(configured_keys()).rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("The stored client secret cannot be decrypted with the configured keys.") from None


def key_is_valid(key: str) -> bool:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True
