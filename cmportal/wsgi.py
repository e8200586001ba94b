"""WSGI entry point (gunicorn cmportal.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmportal.settings")
application = get_wsgi_application()
