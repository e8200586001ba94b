"""Operators' admin for MS AAD settings (the secret is never shown) and sync history."""
from django.contrib import admin

from aadsync.models import AadSettings, AadSettingsChange, SyncRun


@admin.register(AadSettings)
class AadSettingsAdmin(admin.ModelAdmin):
    list_display = ["company", "use_lookup", "period", "next_run_at"]
    exclude = ["secret_encrypted", "delta_link"]
    readonly_fields = ["next_run_at", "updated_at"]


@admin.register(AadSettingsChange)
class AadSettingsChangeAdmin(admin.ModelAdmin):
    list_display = ["company", "changed_by_label", "changed_at", "fields", "source"]
    readonly_fields = [f.name for f in AadSettingsChange._meta.fields]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["company", "trigger", "mode", "status", "queued_at", "finished_at", "created", "updated", "removed"]
    list_filter = ["status", "trigger", "mode"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]
