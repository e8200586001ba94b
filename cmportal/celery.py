"""The Celery app: settings from Django's (namespace CELERY), tasks found in each app's tasks.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmportal.settings")

app = Celery("cmportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
