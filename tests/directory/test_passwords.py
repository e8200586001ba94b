"""Password rules after NIST SP 800-63B: 8 to 128 characters, passphrases, no spaces-only, nothing personal."""
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from directory.models import Person
from directory.services import manager_create

pytestmark = pytest.mark.django_db


def _refusal(password, person=None) -> str:
    with pytest.raises(ValidationError) as error:
        validate_password(password, person)
    return " ".join(error.value.messages)


@pytest.fixture
def rich(company):
    return Person(company=company, role=Person.Role.MANAGER, login="rich", username="rich@cm1-vertical",
                  display_name="Rich Kang", first_name="Rich", last_name="Kang", email="rich.kang@vertical.com")


def test_eight_characters_are_enough(rich):
    validate_password("Tq7#mLp2", rich)


def test_seven_characters_are_too_few(rich):
    assert "at least 8 characters" in _refusal("Tq7#mLp", rich)


def test_a_long_passphrase_works(rich):
    validate_password("walking the dog along the quiet riverbank at dawn in winter", rich)


def test_128_characters_are_allowed_and_129_are_not(rich):
    validate_password("a1b2 c3d4" * 14 + "zz", rich)  # 128
    assert "at most 128 characters" in _refusal("a1b2 c3d4" * 14 + "zzz", rich)


def test_spaces_only_are_refused(rich):
    assert "spaces only" in _refusal(" " * 8, rich)


def test_the_portal_id_is_refused(rich):
    assert "too close to your portal ID" in _refusal("rich@cm1-vertical", rich)


def test_the_name_is_refused(rich):
    assert "too close to your" in _refusal("RichKang", rich)


def test_a_common_password_is_refused(rich):
    assert "too common" in _refusal("password123", rich)


def test_digits_only_are_allowed_when_not_common(rich):
    """No composition rules (NIST): a long random number is a fine password."""
    validate_password("58204719365", rich)


def test_a_manager_is_created_with_a_passphrase_longer_than_the_old_15(company):
    manager_create(company=company, login="amy", name="amy", email="amy@vertical.com",
                   password="sixteen chars ok here")


def test_a_manager_s_password_may_not_be_their_portal_id(company):
    with pytest.raises(ValidationError, match="portal ID"):
        manager_create(company=company, login="verticalboss", name="x", email="x@vertical.com",
                       password="verticalboss1")


def test_the_user_form_says_passphrases_work(manager_client):
    assert "8 to 128 characters; a long passphrase with spaces works well." in manager_client.get(
        "/users/new/").content.decode()
