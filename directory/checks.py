"""System checks for sign-in settings: trusted proxies that parse, throttle limits that can be reached."""
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from cmportal.client_address import trusted_networks


@register(Tags.security)
def check_signin_throttle(app_configs, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    try:
        trusted_networks()
    except ValueError as error:
        errors.append(Error(f"TRUSTED_PROXIES holds something that is not an IP address or network: {error}.",
                            hint="Give addresses or CIDR networks, comma-separated, e.g. 127.0.0.1,10.0.0.0/8.",
                            id="directory.E001"))
    limits = ("LOGIN_THROTTLE_ACCOUNT_LIMIT", "LOGIN_THROTTLE_ADDRESS_LIMIT", "LOGIN_THROTTLE_WINDOW")
    errors.extend(Error(f"{name} must be at least 1.", id="directory.E002")
                  for name in limits if getattr(settings, name) < 1)
    return errors
