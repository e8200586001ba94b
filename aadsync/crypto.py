"""Encryption at rest for client secrets: Fernet with several keys for rotation."""
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """The stored secret was written with a key that is no longer configured."""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def configured_keys() -> tuple[str, ...]:
    """FIELD_ENCRYPTION_KEY's keys, newest first. Settings always give one (from the environment, or generated
    once under var/ for a local install); a key derived from SECRET_KEY is never used."""
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty: set it (see docs/DEPLOY.md).")
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
