"""Tenant ID and Client ID are GUIDs at the model level: a validator, a database check, and a migration that
makes the stored values GUIDs first (normalised, or cleared with a note in the change log)."""
import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from aadsync.models import AadSettings, AadSettingsChange
from aadsync.services import aad_settings_get

GUID = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["tenant_id", "client_id"])
@pytest.mark.parametrize("value", ["../../x?", GUID.upper(), f"{GUID}\n", f" {GUID}", "not-a-guid"])
def test_the_database_refuses_anything_but_a_guid(company, field, value):
    row = aad_settings_get(company=company)
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():  # PostgreSQL: longer than 36 is a DataError
        AadSettings.objects.filter(pk=row.pk).update(**{field: value})


@pytest.mark.parametrize("value", ["", GUID])
def test_the_database_takes_a_guid_or_nothing(company, value):
    row = aad_settings_get(company=company)
    AadSettings.objects.filter(pk=row.pk).update(tenant_id=value, client_id=value)


def test_the_model_says_what_a_guid_looks_like(company):
    row = aad_settings_get(company=company)
    row.tenant_id = "../../x?"
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "Use a GUID like 43d42458-" in " ".join(error.value.message_dict["tenant_id"])


MIGRATE_FROM = [("aadsync", "0003_field_labels")]
MIGRATE_TO = [("aadsync", "0005_guid_checks")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_normalises_guids_and_clears_the_rest_with_a_note(company, other_company):
    executor = MigrationExecutor(connection)
    executor.migrate(MIGRATE_FROM)
    try:
        old = executor.loader.project_state(MIGRATE_FROM).apps.get_model("aadsync", "AadSettings")
        old.objects.create(company_id=company.pk, use_lookup=True, tenant_id="../../x?", client_id=GUID.upper(),
                           secret_encrypted="token", delta_link="https://graph/delta?x", next_run_at=None)
        old.objects.create(company_id=other_company.pk, tenant_id=GUID.upper(), client_id=GUID)
        executor = MigrationExecutor(connection)
        executor.migrate(MIGRATE_TO)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    broken, fine = AadSettings.objects.get(company=company), AadSettings.objects.get(company=other_company)
    assert (broken.tenant_id, broken.client_id, broken.use_lookup, broken.delta_link) == ("", GUID, False, "")
    assert (fine.tenant_id, fine.client_id) == (GUID, GUID)
    note = AadSettingsChange.objects.get(company=company)
    assert note.source == "migration"
    assert note.fields == ["Tenant ID (not a GUID: cleared, enter it again)",
                           "User Look-Up Usage (Not Use until both IDs are entered again)"]
    assert not AadSettingsChange.objects.filter(company=other_company).exists()
