"""MS AAD settings, the Graph/MSAL client, the sync engine, scheduling and look-up history."""
from django.apps import AppConfig


class AadsyncConfig(AppConfig):
    name = "aadsync"
    verbose_name = "MS AAD"

    def ready(self):
        from aadsync import checks  # noqa: F401  (registers system checks)
