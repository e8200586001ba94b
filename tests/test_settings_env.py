"""Settings come from the environment; DEBUG is off by default; a local install makes its own private keys;
production refuses to start without its secrets."""
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
PRINT_DB = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['ENGINE'])")


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


PRINT_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
OPEN_DATABASE = ("import django; django.setup(); from django.db import connection; connection.ensure_connection(); "
                 "print(connection.settings_dict['NAME'])")


def test_debug_is_off_when_django_debug_is_unset(tmp_path):
    result = _run({}, tmp_path, code=PRINT_DEBUG)
    assert result.stdout.strip() == "False", result.stderr


def test_debug_is_on_only_when_django_debug_says_so(tmp_path):
    assert _run({"DJANGO_DEBUG": "1"}, tmp_path, code=PRINT_DEBUG).stdout.strip() == "True"


def test_a_local_install_generates_private_keys_on_first_start(tmp_path):
    result = _run({}, tmp_path, code=PRINT_DEBUG)
    assert result.returncode == 0, result.stderr
    for name in ("secret_key", "field_encryption_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    assert len((tmp_path / "secret_key").read_text().strip()) >= 50
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")]


def test_generated_keys_are_reused_afterwards(tmp_path):
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.SECRET_KEY, settings.FIELD_ENCRYPTION_KEYS[0])")
    first = _run({}, tmp_path, code=code).stdout
    assert first.strip() and _run({}, tmp_path, code=code).stdout == first


def test_generated_keys_are_not_a_constant(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = _run({"CMPORTAL_VAR_DIR": str(tmp_path / "a")}, tmp_path, code=code).stdout
    two = _run({"CMPORTAL_VAR_DIR": str(tmp_path / "b")}, tmp_path, code=code).stdout
    assert one.strip() and one != two


def test_keys_from_the_environment_win_and_no_file_is_made(tmp_path):
    key = Fernet.generate_key().decode()
    code = "import django; django.setup(); from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS)"
    result = _run({"DJANGO_SECRET_KEY": "e" * 50, "FIELD_ENCRYPTION_KEY": key}, tmp_path, code=code)
    assert key in result.stdout
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "field_encryption_key").exists()


def test_processes_starting_together_share_one_key(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CMPORTAL_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "cmportal.settings"}
    processes = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(6)]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1 and keys != {""}
    assert (tmp_path / "secret_key").read_text().strip() == keys.pop()


def test_the_sqlite_database_file_is_private(tmp_path):
    result = _run({}, tmp_path, code=OPEN_DATABASE)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cmportal.sqlite3").stat().st_mode & 0o777 == 0o600


def test_an_existing_readable_sqlite_file_is_made_private(tmp_path):
    database = tmp_path / "cmportal.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    _run({}, tmp_path, code=OPEN_DATABASE)
    assert database.stat().st_mode & 0o777 == 0o600


def test_production_makes_no_key_files(tmp_path):
    result = _run({"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "cm.example.com"}, tmp_path)
    assert result.returncode != 0
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "field_encryption_key").exists()
