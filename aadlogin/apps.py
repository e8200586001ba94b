"""Sign in with Microsoft, kept apart from the sync engine the way django-allauth keeps its providers apart."""
from django.apps import AppConfig


class AadloginConfig(AppConfig):
    name = "aadlogin"
    verbose_name = "Sign in with Microsoft"
