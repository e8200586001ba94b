"""Operations: the health endpoint, structured logs, deploy checks and security headers."""
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cmportal.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[1]
PROD_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x7!Kq-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DJANGO_ALLOWED_HOSTS": "cm.example.com",
}


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_down(client, settings):
    from cmportal.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/health/")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("unavailable")
    assert response.json()["checks"]["database"] == "ok"


def test_json_log_lines_carry_level_logger_and_extras():
    record = logging.makeLogRecord({"name": "aadsync.sync", "levelname": "INFO", "levelno": 20,
                                    "msg": "synced %s", "args": ("cm1",), "run_id": 7})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "synced cm1" and entry["logger"] == "aadsync.sync" and entry["run_id"] == 7


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CMPORTAL_VAR_DIR": str(tmp_path), **PROD_ENV}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_pages_carry_security_headers(client, manager):
    client.force_login(manager)
    response = client.get("/aad/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_cookies_are_secure(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CMPORTAL_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "cmportal.settings", **PROD_ENV}
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stderr


@pytest.mark.django_db
def test_every_url_refuses_a_post_without_csrf_token(manager, company):
    from django.test import Client

    from tests.test_isolation import portal_routes

    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    contact = company.contacts.create(first_name="Typed")
    for route, _name in portal_routes():
        url = "/" + route.replace("<int:pk>", str(contact.pk))
        response = client.post(url, {"first_name": "x"})
        assert response.status_code == 403, (url, response.status_code)
        assert b"CSRF" in response.content, url


@pytest.mark.django_db
def test_every_form_page_carries_a_csrf_token(manager_client):
    for url in ("/aad/?mode=edit", "/users/new/", "/my-information/?mode=edit", "/directory/new/"):
        assert b'name="csrfmiddlewaretoken"' in manager_client.get(url).content, url
