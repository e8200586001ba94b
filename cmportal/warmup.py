"""A web worker warms itself before it takes requests (gunicorn's post_worker_init, cmportal/gunicorn.conf.py).

A new worker's first request cost about 220 ms against 4 ms for the next on the project's VM: the URL map, the
static files manifest, the middleware and the templates are all built on first use, per process. Workers start
with the service and again every couple of thousand requests (max_requests), so without this some person's page
pays that cost every few minutes (bench/load_test.py: the sign-in page's p95 was 180-230 ms, all of it from the
first request each worker served). Nothing here writes: templates are compiled, the sign-in page is rendered.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import cast

logger = logging.getLogger(__name__)
PAGES = ("/login/",)  # anonymous GETs: base templates, static files manifest, URL map, session middleware


def warm_host(allowed_hosts: list[str]) -> str:
    """A Host header the portal accepts: the first concrete ALLOWED_HOSTS entry ("localhost" for a wildcard)."""
    for entry in allowed_hosts:
        host = entry.lstrip(".")  # ".example.com" allows example.com and its subdomains
        if host and host != "*":
            return host
    return "localhost"


def compile_templates() -> int:
    """Compile every template of the project's template folders into the cached loader; returns how many."""
    from django.conf import settings
    from django.template.loader import get_template

    folders = [str(name) for engine in settings.TEMPLATES for name in cast(list, engine.get("DIRS", []))]
    names = [path.relative_to(folder).as_posix() for folder in map(Path, folders)
             for path in sorted(folder.rglob("*")) if path.suffix in (".html", ".txt") and path.is_file()]
    for name in names:
        get_template(name)
    return len(names)


def warm_up() -> None:
    """Compile the templates and render the anonymous pages once. Never fails a worker: a problem is logged."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client

    started = time.perf_counter()
    try:
        templates = compile_templates()
        client = Client(HTTP_HOST=warm_host(list(settings.ALLOWED_HOSTS)))
        statuses = [client.get(path, secure=True).status_code for path in PAGES]
    except Exception:
        logger.warning("Web worker warm-up failed; the worker serves requests as usual", exc_info=True)
        return
    finally:
        connections.close_all()  # request threads open their own; this thread serves none
    logger.info("Web worker warmed up in %.0f ms: %d templates compiled, %s answered %s",
                (time.perf_counter() - started) * 1000, templates, ", ".join(PAGES), statuses)
