"""A web worker warms itself before taking requests (cmportal/warmup.py, gunicorn's post_worker_init)."""
import logging
from pathlib import Path

import pytest
from django.template import engines

from cmportal.warmup import compile_templates, warm_host, warm_up

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("allowed", "host"), [
    (["portal.example.com", "localhost"], "portal.example.com"),
    ([".example.com"], "example.com"),
    (["*"], "localhost"),
    ([], "localhost"),
])
def test_the_warm_up_asks_for_a_host_the_portal_accepts(allowed, host):
    assert warm_host(allowed) == host


def test_every_template_of_the_project_is_compiled():
    loader = engines["django"].engine.template_loaders[0]  # Django's default: the cached loader
    loader.reset()
    expected = {path.relative_to(ROOT / "templates").as_posix() for path in (ROOT / "templates").rglob("*")
                if path.suffix in (".html", ".txt")}

    assert compile_templates() == len(expected) > 30
    assert expected <= set(loader.get_template_cache)  # the cached loader holds each one now


@pytest.mark.django_db
def test_the_warm_up_renders_the_sign_in_page_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="cmportal.warmup"):
        warm_up()

    assert "Web worker warmed up in " in caplog.text and "/login/ answered [200]" in caplog.text


@pytest.mark.django_db
def test_gunicorn_warms_each_worker_before_it_serves(caplog):
    config: dict = {}
    source = (ROOT / "cmportal" / "gunicorn.conf.py").read_text()
    exec(compile(source, "gunicorn.conf.py", "exec"), config)  # noqa: S102 - the project's own settings file

    with caplog.at_level(logging.INFO, logger="cmportal.warmup"):
        config["post_worker_init"](worker=None)

    assert "Web worker warmed up in " in caplog.text
