"""The Celery app: settings from Django's (namespace CELERY), tasks found in each app's tasks.py, Django's logging."""
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from cmportal.broker import use_for_filesystem_urls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmportal.settings")
use_for_filesystem_urls()  # the embedded broker writes each message atomically

app = Celery("cmportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    """Workers and beat log through the project's LOGGING (so LOG_FORMAT=json covers them), not Celery's own."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
