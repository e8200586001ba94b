"""The client secret at rest: Fernet, several keys for rotation, never plain in the column."""
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from aadsync import crypto
from aadsync.models import AadSettings
from aadsync.services import Actor, aad_secret_plain, aad_settings_update
from tests.conftest import SECRET

GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"
pytestmark = pytest.mark.django_db


def _save_secret(company, secret=SECRET):
    aad_settings_update(
        company=company,
        data={"use_lookup": True, "tenant_id": GUID_T, "client_id": GUID_C},
        secret=secret,
        actor=Actor(person=None, source="test"),
    )
    return AadSettings.objects.get(company=company)


def test_database_column_never_holds_the_plain_secret(company):
    row = _save_secret(company)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM aadsync_aadsettings WHERE id = %s", [row.pk])
        stored = cursor.fetchone()[0]
    assert SECRET not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert aad_secret_plain(settings_row=row) == SECRET


def test_secret_written_with_old_key_reads_after_a_new_key_is_added(company, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    row = _save_secret(company)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    row.refresh_from_db()
    assert aad_secret_plain(settings_row=row) == SECRET


def test_rotate_re_encrypts_with_the_newest_key_so_the_old_key_can_go(company, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    row = _save_secret(company)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    rotated = crypto.rotate(row.secret_encrypted)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(rotated) == SECRET
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(row.secret_encrypted)


def test_unreadable_secret_says_what_to_do_without_showing_anything_secret(company, settings):
    row = _save_secret(company)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretUnreadable) as excinfo:
        aad_secret_plain(settings_row=row)
    assert "enter the secret again" in str(excinfo.value)
    assert SECRET not in str(excinfo.value)
    assert row.secret_encrypted not in str(excinfo.value)


def test_no_key_is_ever_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY is empty"):
        crypto.encrypt("x")


def test_invalid_configured_key_fails_the_system_check(settings):
    from aadsync.checks import check_field_encryption_keys

    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    errors = check_field_encryption_keys(None)
    assert [error.id for error in errors] == ["aadsync.E001"]


def test_rotatesecrets_command_moves_every_secret_to_the_newest_key(company, other_company, settings):
    import io

    from django.core.management import call_command

    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    _save_secret(company)
    _save_secret(other_company, secret="second-secret~x")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotatesecrets", stdout=out)
    assert "Re-encrypted 2 client secret(s)" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert aad_secret_plain(settings_row=AadSettings.objects.get(company=other_company)) == "second-secret~x"


def test_rotatesecrets_refuses_and_changes_nothing_when_a_key_is_missing(company, settings):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    before = _save_secret(company).secret_encrypted
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="cannot be read with the configured keys"):
        call_command("rotatesecrets")
    assert AadSettings.objects.get(company=company).secret_encrypted == before
