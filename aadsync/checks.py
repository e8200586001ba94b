"""System checks that fail `manage.py check` loudly on broken MS AAD configuration."""
from django.conf import settings
from django.core.checks import Error, Tags, register

from aadsync.crypto import key_is_valid


@register(Tags.security)
def check_field_encryption_keys(app_configs, **kwargs):
    errors = []
    for index, key in enumerate(settings.FIELD_ENCRYPTION_KEYS):
        if not key_is_valid(key):
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEY entry {index + 1} is not a valid Fernet key.",
                    hint='Make one with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"',
                    id="aadsync.E001",
                )
            )
    return errors


@register()
def check_microsoft_urls(app_configs, **kwargs):
    return [Error(f"{name} must be an https:// URL (msal refuses plain http).", id="aadsync.E002")
            for name in ("AAD_AUTHORITY_HOST", "GRAPH_API_URL") if not getattr(settings, name).startswith("https://")]
