"""cmportal: the Customer Manager portal's MS AAD integration."""

# Load the Celery app with Django so that @shared_task binds to it and on_commit queueing finds the broker.
from cmportal.celery import app as celery_app

__all__ = ("celery_app",)
