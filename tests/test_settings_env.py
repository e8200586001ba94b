"""Settings come from the environment; production refuses to start without its secrets."""
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
PRINT_DB = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"


def _run(env_extra, tmp_path, code=PRINT_DB):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CMPORTAL_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "cmportal.settings", **env_extra}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)


def test_fresh_clone_runs_on_sqlite_with_no_variable_set(tmp_path):
    result = _run({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_database_url_selects_postgresql(tmp_path):
    result = _run({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"}, tmp_path)
    assert result.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without(missing, tmp_path):
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "k" * 50, "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "DJANGO_ALLOWED_HOSTS": "cm.example.com"}
    del env[missing]
    result = _run(env, tmp_path)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_starts_with_both(tmp_path):
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "k" * 50, "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "DJANGO_ALLOWED_HOSTS": "cm.example.com"}
    result = _run(env, tmp_path)
    assert result.returncode == 0, result.stderr
