"""Shared fixtures: companies, managers and users, and a logged-in client."""
import os

import pytest
from cryptography.fernet import Fernet

from tests.fakems.fixtures import _fake_ms_server, fake_ms, fake_tenant  # noqa: F401  (the fake Microsoft)

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "Corr3ct-horse"
SECRET = "s3cr3t~Value.THAT_must_never_show"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the test database is a file, not pytest-django's in-memory one, so that real Celery worker
    processes and racing threads (tests/aadsync/test_celery_*.py, test_dispatch.py) open the same database."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and not database.get("TEST", {}).get("NAME"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _encryption_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory):
    """A cache folder of this test session's own (worker processes inherit it through the environment), so
    that concurrent sessions on one machine never clear or read each other's throttling and progress."""
    from django.conf import settings
    from django.test.utils import override_settings

    folder = str(tmp_path_factory.mktemp("cache"))
    os.environ["CMPORTAL_CACHE_DIR"] = folder
    if settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
        override = override_settings(CACHES={"default": {**settings.CACHES["default"], "LOCATION": folder}})
        override.enable()
        yield folder
        override.disable()
    else:
        yield folder


@pytest.fixture(autouse=True)
def _fresh_cache(_session_cache_dir):
    """Sign-in throttling and sync progress live in the cache: no test sees another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_real_microsoft(settings):
    """Saving MS AAD settings asks Microsoft first: a test that does so without the fake (the `fake_ms` fixture
    points these at it) reaches a closed port on loopback, never the internet."""
    settings.AAD_AUTHORITY_HOST = "https://127.0.0.1:9"
    settings.GRAPH_API_URL = "https://127.0.0.1:9/v1.0"


@pytest.fixture(autouse=True)
def alerts_queued(monkeypatch):
    """Run ids whose alert e-mails a look-up's end would queue (aadsync.alerts.hook): recorded here, so that no test
    publishes to the development broker under var/. tests/aadsync/alerts/ run the real tasks (Celery eager)."""
    seen: list[int] = []
    monkeypatch.setattr("aadsync.alerts.hook.alerts_queue", seen.extend)
    return seen


@pytest.fixture
def make_company(db):
    from directory.services import company_create

    def make(slug="cm1-vertical", name="Vertical Inc", timezone="Asia/Seoul"):
        return company_create(slug=slug, name=name, timezone=timezone)

    return make


@pytest.fixture
def company(make_company):
    return make_company()


@pytest.fixture
def other_company(make_company):
    return make_company(slug="cm2-other", name="Other Co", timezone="Europe/Berlin")


@pytest.fixture
def make_manager(db):
    from directory.services import manager_create

    def make(company, login="rich", name="rich", email="rich@vertical.com", password=PASSWORD):
        return manager_create(company=company, login=login, name=name, email=email, password=password)

    return make


@pytest.fixture
def manager(company, make_manager):
    return make_manager(company)


@pytest.fixture
def make_user(db):
    from directory.models import Person

    def make(company, login="27728", first_name="Kim", last_name="Minsu", email="kim@vertical.com", **extra):
        person = Person(
            company=company,
            role=Person.Role.USER,
            login=login,
            first_name=first_name,
            last_name=last_name,
            email=email,
            site=company.sites.first(),
            **extra,
        )
        person.set_password(PASSWORD)
        person.save()
        return person

    return make


@pytest.fixture
def phone_user(company, make_user):
    return make_user(company)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client
