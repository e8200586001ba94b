"""Password rules after NIST SP 800-63B: 8 to 128 characters, passphrases welcome, no composition rules.

Django's own validators (in settings.AUTH_PASSWORD_VALIDATORS) give the minimum length and the common-password
list; these add the maximum, refuse a password of spaces only, and compare with the person's own details.
"""
from typing import Any

from django.contrib.auth.password_validation import UserAttributeSimilarityValidator
from django.core.exceptions import ValidationError

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
PASSWORD_HINT = f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters; a long passphrase with spaces works well."


class MaximumLengthValidator:
    def __init__(self, max_length: int = PASSWORD_MAX_LENGTH):
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"Use at most {self.max_length} characters; this password has {len(password)}.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password can have up to {self.max_length} characters."


class NotOnlyWhitespaceValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if password and not password.strip():
            raise ValidationError("A password of spaces only is refused: type some letters, digits or words.",
                                  code="password_only_whitespace")

    def get_help_text(self) -> str:
        return "Your password cannot be spaces only."


class PersonalInformationValidator:
    """Not similar to the portal ID (the login and the whole ID), the name or the e-mail (Django's
    UserAttributeSimilarityValidator, one attribute at a time so that the sentence names the right one)."""

    LABELS = {
        "login": "portal ID",
        "username": "portal ID",
        "display_name": "name",
        "first_name": "first name",
        "last_name": "last name",
        "email": "e-mail",
    }

    def __init__(self, max_similarity: float = 0.7):
        self.checks = {
            attribute: UserAttributeSimilarityValidator((attribute,), max_similarity) for attribute in self.LABELS
        }

    def validate(self, password: str, user: Any = None) -> None:
        for attribute, check in self.checks.items():
            try:
                check.validate(password, user)
            except ValidationError:
                raise ValidationError(
                    f"The password is too close to your {self.LABELS[attribute]}: choose one that has nothing "
                    "to do with it.",
                    code="password_too_similar",
                ) from None

    def get_help_text(self) -> str:
        return "Your password cannot be close to your portal ID, name or e-mail."
