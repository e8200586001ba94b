"""bin/prod really runs production: gunicorn (TLS) + PostgreSQL + Redis + a Celery worker and beat, DEBUG off.

A manager signs in over HTTPS, clicks One-time Sync, and the worker syncs the fake Microsoft tenant; beat
dispatches a due scheduled look-up with no human action. Everything talks over loopback only.
"""
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import requests
import trustme
from cryptography.fernet import Fernet

from tests.redis_url import test_redis_url

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_DB = test_redis_url(7)  # TEST_REDIS_URL's db 7
PASSWORD = "Prod-pass-42"
pytestmark = pytest.mark.production


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def prod_database():
    name = f"cm_prod_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def prod_env(prod_database, tmp_path, _fake_ms_server):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    for blob in cert.cert_chain_pems[1:]:
        blob.write_to_path(tmp_path / "cert.pem", append=True)
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    ca.cert_pem.write_to_path(tmp_path / "web-ca.pem")
    prefix = f"cmportal-prodtest-{uuid.uuid4().hex[:8]}:"
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CELERY_", "DJANGO_", "AAD_", "PYTEST", "DATABASE_URL", "CMPORTAL_"))}
    env.update({
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "prod-test-" + uuid.uuid4().hex * 2,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": prod_database,
        "CELERY_BROKER_URL": REDIS_DB,
        "CELERY_REDIS_KEY_PREFIX": prefix,
        "CACHE_URL": REDIS_DB,
        "CMPORTAL_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_CERTFILE": str(tmp_path / "cert.pem"),
        "GUNICORN_KEYFILE": str(tmp_path / "key.pem"),
        "WEB_CONCURRENCY": "2",
        "AAD_DISPATCH_INTERVAL": "1",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        **_fake_ms_server.env(),
    })
    yield {"env": env, "url": f"https://127.0.0.1:{port}", "web_ca": str(tmp_path / "web-ca.pem"),
           "log": tmp_path / "prod.log"}
    client = redis.Redis.from_url(REDIS_DB)
    keys = list(client.scan_iter(match=f"{prefix}*")) + list(client.scan_iter(match=":1:*"))
    if keys:
        client.delete(*keys)


def _manage(env, *args, stdin=None):
    result = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", *args], cwd=ROOT, env=env,
                            input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _wait(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _csrf(session, url):
    page = session.get(url, timeout=10)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def test_bin_prod_serves_signs_in_syncs_and_schedules(prod_env, fake_ms, tmp_path):
    ms = fake_ms
    ms.reset()
    tenant = ms.add_tenant(users=40, seed=7)
    app = ms.add_app(tenant, secret="prod~secret-value-123")
    env, base = prod_env["env"], prod_env["url"]
    log = open(prod_env["log"], "wb")  # noqa: SIM115 - closed below
    stack = subprocess.Popen([str(ROOT / "bin/prod"), "all"], cwd=ROOT, env=env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    try:
        session = requests.Session()
        session.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE overrides `verify`
        session.verify = prod_env["web_ca"]

        def healthy():
            try:
                return session.get(f"{base}/health/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        _wait(healthy, 90, "/health/ to answer 200")
        assert session.get(f"{base}/health/").json()["checks"] == {"database": "ok", "broker": "ok"}

        _manage(env, "createcompany", "cm1-prod", "--name", "Prod Co", "--timezone", "Asia/Seoul")
        _manage(env, "createmanager", "--company", "cm1-prod", "--login", "boss", "--name", "Boss",
                "--email", "boss@prod.test", "--password", PASSWORD)
        _manage(env, "aadconfig", "--company", "cm1-prod", "--tenant-id", tenant.tenant_id, "--client-id",
                app.client_id, "--secret-stdin", "--use", "--period", "hourly", stdin="prod~secret-value-123\n")

        login = session.get(f"{base}/login/", timeout=10)
        assert login.headers["Strict-Transport-Security"].startswith("max-age=")
        css = re.search(r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]+\.css)"', login.text).group(1)
        assert session.get(base + css, timeout=10).status_code == 200  # hashed, served by whitenoise
        token = _csrf(session, f"{base}/login/")
        response = session.post(f"{base}/login/", data={"username": "boss@cm1-prod", "password": PASSWORD,
                                "csrfmiddlewaretoken": token}, headers={"Referer": f"{base}/login/"},
                                allow_redirects=False, timeout=10)
        assert response.status_code == 302 and response.headers["Location"] == "/aad/"
        assert all(cookie.secure for cookie in session.cookies)

        token = _csrf(session, f"{base}/aad/")
        queued = session.post(f"{base}/aad/sync/", headers={"Accept": "application/json", "X-CSRFToken": token,
                              "Referer": f"{base}/aad/"}, timeout=10)
        assert queued.status_code == 202, queued.text

        def finished():
            run = session.get(f"{base}/aad/sync/status/", timeout=5).json()["run"]
            return run if run["status"] in ("succeeded", "failed") else None

        run = _wait(finished, 60, "the One-time Sync to finish")
        assert run["status"] == "succeeded", run
        assert run["created"] > 0 and run["looked_up"] == 40 == run["created"] + run["disabled"] + run["skipped"]

        # Beat: make the company due now; the dispatcher queues a scheduled look-up on its own.
        _manage(env, "shell", "-c", "from aadsync.models import AadSettings; from django.utils import timezone; "
                "AadSettings.objects.filter(company__slug='cm1-prod').update(next_run_at=timezone.now())")
        history = _wait(lambda: "Schedule" in (page := session.get(f"{base}/aad/history/", timeout=5).text)
                        and page, 60, "a scheduled run in the history")
        assert "One-time Sync" in history
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        try:
            stack.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
        log.close()
    output = prod_env["log"].read_text(errors="replace")
    assert "prod~secret-value-123" not in output
    assert '"level": "INFO"' in output  # structured logs
    assert output.count("Web worker warmed up in ") >= 2  # each of the two gunicorn workers, before serving
