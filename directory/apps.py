"""Companies, sites, the people who log in, and the Company Directory."""
from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Company directory"

    def ready(self):
        from directory import checks  # noqa: F401  (registers system checks)
