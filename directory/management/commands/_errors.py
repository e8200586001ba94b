"""Turn validation errors into the one-line CommandError operators see."""
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def one_line(error: ValidationError, names: dict[str, str] | None = None) -> CommandError:
    """`names` gives the option an operator typed for a field (e.g. login -> --portal-id)."""
    if hasattr(error, "message_dict"):
        parts = [f"{(names or {}).get(field, field)}: {' '.join(msgs)}" if field != "__all__" else " ".join(msgs)
                 for field, msgs in error.message_dict.items()]
    else:
        parts = error.messages
    return CommandError(" ".join(" ".join(parts).split()))
