"""The fake Microsoft: an HTTPS server on loopback (throwaway trustme CA) with a request router and faults.

Routes live in `identity_routes.py` (login.microsoftonline.com) and `graph_routes.py` (graph.microsoft.com);
both hosts are served from one origin: the authority is `https://127.0.0.1:PORT/{tenant}` and Graph is
`https://127.0.0.1:PORT/v1.0`. To add an endpoint, write a handler `fn(ms, request, **path_groups) -> Response`
and register it with `ms.router.add(method, path_regex, fn, name=...)`.
"""
from __future__ import annotations

import collections
import os
import socket
import ssl
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.fakems import admin_routes, application_routes, graph_routes, group_routes, identity_routes, signin_routes
from tests.fakems.faults import AFTER, Fault, Faults
from tests.fakems.model import USER_READ_ALL, App, Directory, Tenant
from tests.fakems.tenantgen import generate_users
from tests.fakems.wire import Drop, Request, Response, Router

DEFAULT_GRAPH_HOST = "https://graph.microsoft.com"
LISTINGS = ("users", "users_delta")  # the endpoints a look-up pages through; the fault methods' default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Microsoft's front ends do
    server_version = "FakeMicrosoft/1.0"
    sys_version = ""

    def log_message(self, format, *args):  # the request log is kept in ms.requests instead
        pass

    def _serve(self):
        ms: FakeMicrosoft = self.server.ms
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw_query=parts.query,
        )
        try:
            response = ms.dispatch(request)
        except Drop as drop:
            if drop.partial:
                self.wfile.write(drop.partial)
                self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, ssl_context: ssl.SSLContext, ms):
        super().__init__(address, _Handler)
        self.ssl_context = ssl_context
        self.ms = ms

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread, so a slow client blocks nobody.
        # No Nagle: headers and body go out as separate writes, and waiting for an ACK would stall each page.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            tls.close()


class FakeMicrosoft:
    """Microsoft's identity platform and Graph, as far as the portal uses them, on https://127.0.0.1:PORT."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, ca: trustme.CA | None = None):
        self.host = host
        self.port = port
        self.ca = ca or trustme.CA()
        self.directory = Directory()
        self.faults = Faults()
        self.router = Router()
        self.requests: collections.deque[dict] = collections.deque(maxlen=10_000)
        self.page_size_override: int | None = None
        self.raw_users = False  # serve stored user dicts as they are, not projected on $select (payload fuzzing)
        self.delta_page_size = graph_routes.DELTA_PAGE
        self.delta_token_ttl = graph_routes.DELTA_TOKEN_TTL
        self.delta_expired_answer: tuple[int, str | None] = (400, None)
        self.delta_repeats = 0  # the last page of a delta round repeats the round's first N entries (repeat_in_delta)
        self.grant_handlers: dict[str, callable] = {}
        # A national cloud's Graph host, whose scopes the token endpoint accepts (global: graph.microsoft.com),
        # and the host the tenant's issuer names (None: this fake's own address; China's differs from where the
        # portal reaches it, login.partner.microsoftonline.cn). See use_cloud().
        self.graph_host = DEFAULT_GRAPH_HOST
        self.issuer_host: str | None = None
        identity_routes.register(self)
        graph_routes.register(self)
        signin_routes.register(self)
        admin_routes.register(self)
        application_routes.register(self)
        group_routes.register(self)
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir = tempfile.TemporaryDirectory(prefix="fakems-")
        self.ca_pem = os.path.join(self._tmpdir.name, "fake-microsoft-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_pem)

    # Lifecycle
    def start(self) -> FakeMicrosoft:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(context)
        self._server = _TLSServer((self.host, self.port), context, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-microsoft", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmpdir.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self) -> None:
        """Forget tenants, tokens, faults and the request log (between tests)."""
        self.directory.reset()
        self.faults.clear()
        self.requests.clear()
        self.page_size_override = None
        self.delta_page_size = graph_routes.DELTA_PAGE
        self.delta_token_ttl = graph_routes.DELTA_TOKEN_TTL
        self.delta_expired_answer = (400, None)
        self.delta_repeats = 0
        self.raw_users = False
        self.graph_host = DEFAULT_GRAPH_HOST
        self.issuer_host = None
        self.signin.reset()

    # Addresses
    @property
    def authority_host(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def graph_scope(self) -> str:
        return f"{self.graph_host}/.default"

    def issuer(self, tenant_id: str) -> str:
        """The tenant's issuer, as its discovery document states it and its id_tokens carry it."""
        return f"{self.issuer_host or self.authority_host}/{tenant_id}/v2.0"

    def use_cloud(self, graph_host: str, *, issuer_host: str | None = None) -> None:
        """Behave as a national cloud (reached at this same loopback address): tokens only for scopes of
        `graph_host` (e.g. https://microsoftgraph.chinacloudapi.cn/.default), the issuer on `issuer_host`."""
        self.graph_host = graph_host.rstrip("/")
        self.issuer_host = issuer_host.rstrip("/") if issuer_host else None

    @property
    def graph_url(self) -> str:
        return f"{self.authority_host}/v1.0"

    def env(self) -> dict[str, str]:
        return {
            "AAD_AUTHORITY_HOST": self.authority_host,
            "GRAPH_API_URL": self.graph_url,
            "REQUESTS_CA_BUNDLE": self.ca_pem,
        }

    @staticmethod
    def closed_url() -> str:
        """An https origin on loopback where nothing listens (Microsoft unreachable)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"https://127.0.0.1:{port}"

    # The world
    def add_tenant(self, tenant_id: str | None = None, *, users: int | list = 0, seed: int = 1,
                   domain: str | None = None) -> Tenant:
        tenant = self.directory.add_tenant(tenant_id, domain=domain)
        if isinstance(users, int):
            users = generate_users(users, seed=seed, domain=tenant.domain)
        tenant.add_users(users)
        return tenant

    def add_app(self, tenant: Tenant, client_id: str | None = None, *, secret: str | None = None,
                secret_expires_in: float | None = None, permissions=(USER_READ_ALL,)) -> App:
        return tenant.add_app(client_id, secret=secret, secret_expires_in=secret_expires_in, permissions=permissions)

    def revoke_tokens(self) -> None:
        self.directory.revoke_tokens()

    # Faults
    def add_fault(self, kind: str, **options) -> Fault:
        return self.faults.add(Fault(kind, **options))

    def throttle(self, *, times: int | None = 1, retry_after: str | None = "1", status: int = 429,
                 page: int | None = None, endpoint=LISTINGS) -> Fault:
        body = {"error": {"code": "TooManyRequests" if status == 429 else "ServiceUnavailable",
                          "message": "Too many requests" if status == 429 else "Service unavailable",
                          "innerError": {"date": _now_iso(), "request-id": _guid()}}}
        return self.add_fault("status", status=status, retry_after=retry_after, times=times, page=page,
                              endpoint=endpoint, body=body)

    def server_error(self, status: int = 503, **options) -> Fault:
        options.setdefault("retry_after", None)
        return self.throttle(status=status, **options)

    def drop_connection(self, *, page: int | None = None, times: int | None = None, mid_body: bool = False,
                        endpoint=LISTINGS) -> Fault:
        return self.add_fault("drop_mid_body" if mid_body else "drop", page=page, times=times, endpoint=endpoint)

    def malformed_json(self, *, page: int | None = None, times: int | None = None, endpoint=LISTINGS):
        return self.add_fault("malformed_json", page=page, times=times, endpoint=endpoint)

    def nextlink_loop(self, *, page: int = 2, endpoint=LISTINGS) -> Fault:
        return self.add_fault("nextlink_loop", page=page, endpoint=endpoint)

    def add_latency(self, seconds: float, *, endpoint=LISTINGS) -> Fault:
        """Answer each request to `endpoint` `seconds` after it arrived (the fake's own work included)."""
        return self.add_fault("latency", delay=seconds, endpoint=endpoint)

    def ignore_top(self, page_size: int = 100) -> None:
        """Answer every listing (/users and /users/delta) in pages of `page_size`, whatever $top asked."""
        self.page_size_override = page_size

    def repeat_in_delta(self, entries: int) -> None:
        """Microsoft: "The same resource may appear more than once in delta responses." From now on the last page
        of every delta round repeats the round's first `entries` entries, as they are now."""
        self.delta_repeats = entries

    def expire_delta_tokens(self, tenant: Tenant, *, status: int = 400, code: str | None = None) -> None:
        """Make every delta token issued so far invalid, answered as Microsoft does once a token is older than
        about 7 days or the sync state was reset: 400 syncStateNotFound by default; `code` gives another code
        (resyncRequired, or another letter case) and `status` another 40X; 410 Gone comes with a Location."""
        tenant.delta_generation += 1
        self.delta_expired_answer = (status, code)

    # Inspection
    def requests_to(self, *endpoints: str) -> list[dict]:
        """The logged requests to these route names (default: both user listings)."""
        endpoints = endpoints or LISTINGS
        return [entry for entry in list(self.requests) if entry["endpoint"] in endpoints]

    # Dispatch
    def dispatch(self, request: Request) -> Response:
        handler, name, groups = self.router.match(request.method, request.path)
        entry = {"method": request.method, "path": request.path, "query": dict(request.query),
                 "prefer": request.headers.get("prefer"), "endpoint": name, "at": time.time()}
        self.requests.append(entry)
        if handler is None:
            status = 405 if name == "method" else 404
            entry["status"] = status
            return Response.json(status, {"error": {"code": "NotFound", "message": f"No route {request.path}"}})
        page = request.page
        entry["page"] = page
        fired = self.faults.take(name, page)
        # Latency is the time Microsoft takes to answer, its own work included: answer no sooner than that.
        answer_at = time.monotonic() + max([f.delay for f in fired if f.kind == "latency"], default=0.0)
        try:
            response = self._answer(request, handler, groups, fired, entry)
            # Graph's diagnostic headers: request-id on every answer, the caller's client-request-id echoed.
            response.headers.setdefault("request-id", _guid())
            response.headers.setdefault("client-request-id", request.headers.get("client-request-id") or _guid())
            return response
        finally:
            time.sleep(max(0.0, answer_at - time.monotonic()))

    def _answer(self, request, handler, groups, fired, entry) -> Response:
        for fault in fired:
            if fault.kind == "drop":
                entry["status"] = "dropped"
                raise Drop()
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                entry["status"] = fault.status
                return Response.json(fault.status, fault.body or {}, headers)
        response = handler(self, request, **groups)
        for fault in fired:
            if fault.kind not in AFTER:
                continue
            if fault.kind == "malformed_json":
                response.body = response.body[: max(1, len(response.body) // 2)]
            elif fault.kind == "nextlink_loop" and isinstance(response.data, dict):
                # The page points at itself: a client that does not notice pages forever.
                own = f"{self.authority_host}{request.path}" + (f"?{request.raw_query}" if request.raw_query else "")
                response.data["@odata.nextLink"] = own
                response = Response.json(response.status, response.data, response.headers)
            elif fault.kind == "drop_mid_body":
                head = (f"HTTP/1.1 {response.status} OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(response.body)}\r\n\r\n").encode()
                entry["status"] = "dropped"
                raise Drop(head + response.body[: len(response.body) // 2])
        entry["status"] = response.status
        return response


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def _guid() -> str:
    return str(uuid.uuid4())
