"""Requests, responses, the router and paging tokens of the fake Microsoft (no server code here)."""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw_query: str = ""

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    @property
    def page(self) -> int:
        """1-based page of a paged listing: the first request is page 1, each skiptoken names the next."""
        token = self.query.get("$skiptoken") or self.query.get("$deltatoken")
        if not token:
            return 1
        state = decode_token(token)
        return int(state.get("p", 1)) if state else 1


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    data: object = None  # the JSON document, kept so that AFTER-faults can alter it

    @classmethod
    def json(cls, status: int, data, headers: dict | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, data)


class Drop(Exception):
    """Close the connection without (or half-way through) an answer."""

    def __init__(self, partial: bytes = b""):
        self.partial = partial


def encode_token(state: dict) -> str:
    """An opaque paging token (Microsoft's are opaque too; ours carry the page number for faults)."""
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict | None:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None


class Router:
    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, callable, str]] = []

    def add(self, method: str, pattern: str, handler, *, name: str, first: bool = False) -> None:
        """Register a route; `first` puts it before those already there (to answer a path differently)."""
        route = (method, re.compile(pattern + r"\Z"), handler, name)
        if first:
            self.routes.insert(0, route)
        else:
            self.routes.append(route)

    def match(self, method: str, path: str):
        allowed = False
        for route_method, regex, handler, name in self.routes:
            found = regex.match(path)
            if found:
                if route_method == method:
                    return handler, name, found.groupdict()
                allowed = True
        return None, ("method" if allowed else None), {}


