"""Operators' admin for MS AAD settings (saved through the service, so edits reach the change log; the secret is
write-only) and sync history."""
from django import forms
from django.contrib import admin
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from aadsync.forms import secret_field
from aadsync.models import MAX_SCOPE_GROUPS, AadSettings, AadSettingsChange, LookupHealth, SyncRun
from aadsync.services import Actor, aad_settings_update
from aadsync.validators import guid_clean, guid_normalised


class AadSettingsAdminForm(forms.ModelForm):
    """The MS AAD page's fields; the secret can be replaced but is never shown (nor its encrypted form)."""

    secret = secret_field(help_text="Leave empty to keep the stored secret; it is never shown.")

    # Longer than a GUID, so that a paste with spaces or a wrong value gets the GUID sentence, not a length one.
    tenant_id = forms.CharField(label="Tenant ID", required=False, max_length=200)
    client_id = forms.CharField(label="Client ID", required=False, max_length=200)

    class Meta:
        model = AadSettings
        fields = ("company", *AadSettings.EDITABLE_FIELDS)

    def clean_tenant_id(self) -> str:
        value = self.cleaned_data["tenant_id"].strip()
        return guid_clean(value, "Tenant ID") if value else ""

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        return guid_clean(value, "Client ID") if value else ""

    def clean_scope_groups(self) -> list:
        """[{"id": a group's object ID, "name": ...}, ...] as the MS AAD page stores them; empty is []."""
        value = self.cleaned_data.get("scope_groups") or []
        if not isinstance(value, list) or len(value) > MAX_SCOPE_GROUPS or not all(
                isinstance(group, dict) and guid_normalised(group.get("id")) for group in value):
            raise forms.ValidationError(f"A list of at most {MAX_SCOPE_GROUPS} groups, each {{\"id\": object ID, "
                                        "\"name\": its name}.")
        return [{"id": guid_normalised(group["id"]), "name": str(group.get("name") or group["id"])}
                for group in value]
    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("use_lookup"):
            for name in ("tenant_id", "client_id"):
                if name in cleaned and not cleaned[name]:
                    self.add_error(name, f"{AadSettings.field_label(name)} is required when User Look-Up Usage is Use.")
            if not cleaned.get("secret") and not self.instance.has_secret:
                self.add_error("secret", "Paste the client secret value: it is required when Usage is Use.")
        return cleaned


@admin.register(AadSettings)
class AadSettingsAdmin(admin.ModelAdmin):
    form = AadSettingsAdminForm
    list_display = ["company", "use_lookup", "period", "next_run_at", "quarantined_since", "secret_expires_at"]
    readonly_fields = ["next_run_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # A row belongs to its company for good: moving it would move another company's secret.
        return [*self.readonly_fields, "company"] if obj is not None else self.readonly_fields

    @method_decorator(sensitive_post_parameters("secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """Through aad_settings_update, as the MS AAD page saves: the change log (source "admin"), the next run
        time and the incremental-sync position all follow."""
        data = {name: form.cleaned_data[name] for name in AadSettings.EDITABLE_FIELDS if name in form.cleaned_data}
        aad_settings_update(
            company=obj.company,
            data=data,
            secret=form.cleaned_data.get("secret") or None,
            actor=Actor(person=request.user, source="admin"),
        )
        saved = AadSettings.objects.get(company=obj.company)
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(AadSettingsChange)
class AadSettingsChangeAdmin(admin.ModelAdmin):
    list_display = ["company", "changed_by_label", "changed_at", "fields", "source", "note"]
    readonly_fields = [f.name for f in AadSettingsChange._meta.fields]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["company", "trigger", "mode", "status", "queued_at", "finished_at", "created", "updated", "removed"]
    list_filter = ["status", "trigger", "mode"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(LookupHealth)
class LookupHealthAdmin(admin.ModelAdmin):
    list_display = ["company", "failing_since", "failed_in_row", "scheduled_failed_in_row", "failure_mail_at"]
    readonly_fields = [f.name for f in LookupHealth._meta.fields]
