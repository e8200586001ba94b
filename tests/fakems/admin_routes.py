"""Steering the standalone fake from another process (benchmarks, demos): change users, set latency, count
requests. Loopback only, like the rest of the fake; tests steer the in-process object directly instead."""
from __future__ import annotations

import json
import random

from tests.fakems.faults import Fault
from tests.fakems.tenantgen import generate_users
from tests.fakems.wire import Response


def register(ms) -> None:
    ms.router.add("POST", r"/_fake/tenants/(?P<tenant>[^/]+)/changes", change_users, name="admin")
    ms.router.add("POST", r"/_fake/latency", set_latency, name="admin")
    ms.router.add("GET", r"/_fake/requests", count_requests, name="admin")


def _body(request) -> dict:
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        return {}


def change_users(ms, request, tenant):
    """{"renamed": n, "added": n, "removed": n, "seed": s}: that many users changed, new and deleted."""
    found = ms.directory.tenant(tenant)
    if found is None:
        return Response.json(404, {"error": "no such tenant"})
    body = _body(request)
    rng = random.Random(body.get("seed", 1))
    users = list(found.users)
    picked = rng.sample(users, min(len(users), body.get("renamed", 0) + body.get("removed", 0)))
    for user in picked[: body.get("renamed", 0)]:
        found.update_user(user["id"], givenName=f"Renamed{rng.randint(0, 10**6)}")
    for user in picked[body.get("renamed", 0):]:
        found.remove_user(user["id"])
    found.add_users(generate_users(body.get("added", 0), seed=rng.randint(0, 10**9), domain=found.domain))
    return Response.json(200, {"users": len(found.users), "seq": found.seq})


def set_latency(ms, request):
    """{"seconds": 0.2}: every Graph listing request answers that long after it arrived (0: none)."""
    seconds = float(_body(request).get("seconds", 0))
    with ms.faults._lock:
        ms.faults._faults[:] = [fault for fault in ms.faults._faults if fault.kind != "latency"]
    if seconds:
        ms.faults.add(Fault("latency", delay=seconds, endpoint=("users", "users_delta")))
    return Response.json(200, {"seconds": seconds})


def count_requests(ms, request):
    counts: dict[str, int] = {}
    for entry in list(ms.requests):
        counts[entry["endpoint"] or "unknown"] = counts.get(entry["endpoint"] or "unknown", 0) + 1
    return Response.json(200, {"counts": counts})
