"""Tenant and Client IDs become GUIDs at the database level (0005): first make every stored value one.

A GUID typed with capitals or spaces is stored in its canonical form. Anything else cannot be a tenant or an
app registration: it is cleared, User Look-Up Usage goes to Not Use (it needs both IDs), and the MS AAD change
log says so, so that the manager sees why and enters the IDs again.
"""
import re

from django.db import migrations
from django.utils import timezone

GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
LABELS = {"tenant_id": "Tenant ID", "client_id": "Client ID"}


def make_ids_guids(apps, schema_editor):
    AadSettings = apps.get_model("aadsync", "AadSettings")
    AadSettingsChange = apps.get_model("aadsync", "AadSettingsChange")
    for row in AadSettings.objects.exclude(tenant_id="", client_id=""):
        notes, changed = [], False
        for field, label in LABELS.items():
            value = getattr(row, field)
            canonical = value.strip().lower()
            if not value or (value == canonical and GUID_RE.match(canonical)):
                continue
            changed = True
            if GUID_RE.match(canonical):
                setattr(row, field, canonical)
            else:
                setattr(row, field, "")
                notes.append(f"{label} (not a GUID: cleared, enter it again)")
        if not changed:
            continue
        if notes:
            row.delta_link = ""
            row.delta_for = ""
            if row.use_lookup:
                row.use_lookup = False
                row.next_run_at = None
                notes.append("User Look-Up Usage (Not Use until both IDs are entered again)")
        row.save()
        if notes:
            AadSettingsChange.objects.create(
                company_id=row.company_id, changed_by=None, changed_by_label="operator (migration)",
                changed_at=timezone.now(), fields=notes, source="migration",
            )


class Migration(migrations.Migration):

    dependencies = [
        ("aadsync", "0003_field_labels"),
    ]

    operations = [
        migrations.RunPython(make_ids_guids, migrations.RunPython.noop),
    ]
