"""Real Celery worker and beat processes for tests, on Redis or on the embedded filesystem broker.

Each test session gets its own broker space (a Redis key prefix on db 5, or a temporary broker folder), so
concurrent sessions on one machine never take each other's messages. The processes open pytest-django's
test database: on PostgreSQL by its test name, on SQLite by the file tests/conftest.py puts it in (a test
that starts workers must commit its data: `@pytest.mark.django_db(transaction=True)`). Every wait is
bounded, and the processes (whole process groups: prefork children too) are always terminated.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from cmportal.celery import app as celery_app
from tests.redis_url import test_redis_url

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
REDIS_URL = test_redis_url(5)  # TEST_REDIS_URL's db 5


@dataclass
class Broker:
    name: str
    url: str
    transport_options: dict
    env: dict  # what the worker and beat processes need to use it

    def cleanup(self) -> None:
        prefix = self.transport_options.get("global_keyprefix")
        if prefix:
            import redis

            client = redis.Redis.from_url(self.url)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


def redis_ping(url: str) -> None:
    """Fail loudly when Redis is not there: CI always has it, so a missing one is a fault, not a skip."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        raise AssertionError(f"Redis at {url} does not answer ({error}); these tests need it: start redis-server "
                             "or set TEST_REDIS_URL (bin/test starts a throwaway one).") from None
    finally:
        client.close()


def make_broker(name: str, tmp_path: Path, *, redis_url: str = REDIS_URL) -> Broker:
    if name == "redis":
        redis_ping(redis_url)
        prefix = f"cmportal-test-{uuid.uuid4().hex[:12]}:"
        return Broker(name, redis_url, {"global_keyprefix": prefix, "visibility_timeout": 3600},
                      {"CELERY_BROKER_URL": redis_url, "CELERY_REDIS_KEY_PREFIX": prefix})
    folder = tmp_path / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
               "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control"),
               "store_processed": False, "polling_interval": 0.1}
    return Broker(name, "filesystem://", options, {"CELERY_BROKER_URL": "filesystem://", "CELERY_BROKER_FOLDER": str(folder)})


def _reset_producer_pools() -> None:
    # Celery caches its connection pools on first use; drop them so the next publish uses the new broker.
    # They live in kombu's process-wide registries, keyed by broker URL: clear those too, or a later test on
    # the same URL would be handed the closed pool ("Acquire on closed pool").
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def publishing_to(broker: Broker, monkeypatch):
    """Make this (test) process publish to `broker`, e.g. for One-time Sync clicks served by live_server."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    monkeypatch.setenv("CELERY_BROKER_URL", broker.url)  # Celery's conf prefers the variable when it is set
    conf.broker_url, conf.broker_transport_options = broker.url, broker.transport_options
    _reset_producer_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options = saved
        _reset_producer_pools()


def database_url_for_workers() -> str:
    """pytest-django's test database, for other processes."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class CeleryProcesses:
    """Worker and beat processes started for one test; `stop_all` ends every one of them."""

    broker: Broker
    workdir: Path
    extra_env: dict = field(default_factory=dict)
    started: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("CELERY_", "DJANGO_", "AAD_", "PYTEST", "DATABASE_URL"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "cmportal.settings",
            "DATABASE_URL": database_url_for_workers(),
            "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "AAD_DISPATCH_INTERVAL": "1",  # the beat entry is every 30 s in production; tests do not wait that long
            "PYTHONUNBUFFERED": "1",
            **self.broker.env,
            **self.extra_env,
        })
        return env

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([CELERY, "-A", "cmportal", *args], cwd=ROOT, env=self.env(), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log_file = log
        self.started[name] = process
        return process

    def start_worker(self, name: str = "worker", concurrency: int = 2, wait: float = 60,
                     queues: str | None = None) -> subprocess.Popen:
        """A worker taking `queues` (comma-separated; default: all of them)."""
        process = self._start(name, ["worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                                     f"--hostname={name}-{uuid.uuid4().hex[:8]}@%h",
                                     "--without-gossip", "--without-mingle", "--without-heartbeat",
                                     *([f"--queues={queues}"] if queues else [])])
        self.wait_for_log(name, " ready.", wait)
        return process

    def start_beat(self, wait: float = 60) -> subprocess.Popen:
        process = self._start("beat", ["beat", "--loglevel=INFO", f"--schedule={self.workdir / 'beat-schedule'}"])
        self.wait_for_log("beat", "beat: Starting", wait)
        return process

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"----- {name} -----\n{self.log(name)[-6000:]}" for name in self.started)

    def wait_for_log(self, name: str, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            process = self.started[name]
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not log {text!r} within {timeout} s:\n{self.logs()}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children, as when a machine or container dies."""
        process = self.started[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.log_file.close()

    def stop_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            process.log_file.close()


def wait_until(condition, timeout: float, message, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; fail with `message()` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)
