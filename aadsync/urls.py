"""URLs of the MS AAD pages (Authority Setting > MS AAD, Sync History)."""
from django.urls import path

from aadsync.views import history, runs, settings_page

urlpatterns = [
    path("aad/", settings_page.aad_settings_page, name="aad-settings"),
    path("aad/test/", settings_page.aad_test_connection, name="aad-test-connection"),
    path("aad/groups/", settings_page.aad_groups_search, name="aad-groups-search"),
    path("aad/sync/", runs.one_time_sync, name="aad-sync"),
    path("aad/sync/status/", runs.sync_status, name="aad-sync-status"),
    path("aad/history/", runs.sync_history, name="aad-sync-history"),
    path("aad/history/<int:pk>/", history.run_page, name="aad-run"),
    path("aad/history/<int:pk>/changes.csv", history.run_changes_csv, name="aad-run-csv"),
]
