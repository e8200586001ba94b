"""pytest fixtures for bin/run's demo: `demo_microsoft` (the demo Microsoft as bin/run starts it, a real process) and
`demo_mode` (settings and REQUESTS_CA_BUNDLE as bin/run exports them from its env file). Import them in a module."""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class DemoMicrosoft:
    process: subprocess.Popen
    state: Path
    env: dict[str, str]  # the env file bin/run exports
    demo: dict  # demo.json, what `manage.py demo` reads

    @property
    def demo_json(self) -> Path:
        return self.state / "demo.json"


def read_env_file(path: Path) -> dict[str, str]:
    return {name: shlex.split(value)[0] for name, _, value in
            (line.partition("=") for line in path.read_text().splitlines() if line)}


def demo_microsoft_process(state: Path, *, users: int = 60, timeout: float = 30) -> DemoMicrosoft:
    """`python -m tests.fakems.demo`, started as bin/run starts it; returns once its env file is written."""
    process = subprocess.Popen([sys.executable, "-m", "tests.fakems.demo", "--state-dir", str(state),
                                "--users", str(users)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, text=True)
    deadline = time.monotonic() + timeout
    while not (state / "env").exists():
        if process.poll() is not None:
            raise AssertionError(f"the demo Microsoft exited: {process.stdout.read() if process.stdout else ''}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the demo Microsoft wrote no env file in time")
        time.sleep(0.05)
    return DemoMicrosoft(process, state, read_env_file(state / "env"), json.loads((state / "demo.json").read_text()))


def demo_microsoft_stop(demo: DemoMicrosoft) -> None:
    if demo.process.poll() is None:
        os.killpg(demo.process.pid, signal.SIGTERM)
    demo.process.wait(timeout=10)
    if demo.process.stdout:
        demo.process.stdout.close()


@pytest.fixture(scope="module")
def demo_microsoft(tmp_path_factory):
    demo = demo_microsoft_process(tmp_path_factory.mktemp("demo-ms"))
    yield demo
    demo_microsoft_stop(demo)


@pytest.fixture
def demo_mode(demo_microsoft, settings, monkeypatch):
    """This process configured as bin/run configures the portal in demo mode."""
    from aadlogin.msal_apps import signin_apps_clear
    from aadsync.microsoft.tokens import msal_apps_clear

    env = demo_microsoft.env
    settings.DEMO_MODE = True
    settings.DEMO_TENANT_ID = env["CMPORTAL_DEMO_TENANT_ID"]
    settings.DEMO_ACCOUNT = env["CMPORTAL_DEMO_ACCOUNT"]
    settings.DEMO_SIGNIN_ORIGIN = env["CMPORTAL_DEMO_SIGNIN_ORIGIN"]
    settings.AAD_AUTHORITY_HOST = env["AAD_AUTHORITY_HOST"]
    settings.GRAPH_API_URL = env["GRAPH_API_URL"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
    msal_apps_clear()
    signin_apps_clear()
    yield demo_microsoft
    msal_apps_clear()
    signin_apps_clear()
