"""Every Graph and identity fault in every phase of a run (token, first page, middle page, last page), in a full
and an incremental run: each ends with the directory exactly as it was, a true history row (failed, finished,
a sentence), no run left active, and the next run, once Microsoft behaves, applies everything."""
import pytest

from aadsync.models import SyncRun
from directory.models import Contact
from tests.aadsync.sync.test_engine import settings_fast_retries, snapshot, sync  # noqa: F401  (fixture)
from tests.fakems import generate_users
from tests.fakems import make_user as graph_user

pytestmark = pytest.mark.django_db
PAGES = 5
PAGE_SIZE = 100
PHASES = {"first-page": 1, "middle-page": 3, "last-page": PAGES}
LISTING = ("users", "users_delta")


def _status(status, code, message, retry_after=None):
    return lambda ms, page: ms.add_fault("status", status=status, retry_after=retry_after, times=None, page=page,
                                         endpoint=LISTING, body={"error": {"code": code, "message": message}})


PAGE_FAULTS = {
    "throttled-429": lambda ms, page: ms.throttle(times=None, retry_after="0.01", page=page, endpoint=LISTING),
    "throttled-decimal-retry-after": lambda ms, page: ms.throttle(times=None, retry_after="0.013", page=page,
                                                                  endpoint=LISTING),
    "unavailable-503": lambda ms, page: ms.server_error(503, times=None, page=page, endpoint=LISTING),
    "gateway-timeout-504": lambda ms, page: ms.server_error(504, times=None, page=page, endpoint=LISTING),
    "internal-error-500": _status(500, "InternalServerError", "Something went wrong."),
    "permission-denied-403": _status(403, "Authorization_RequestDenied",
                                     "Insufficient privileges to complete the operation."),
    "token-rejected-401": _status(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    "connection-dropped": lambda ms, page: ms.drop_connection(page=page, times=None, endpoint=LISTING),
    "dropped-mid-body": lambda ms, page: ms.drop_connection(page=page, times=None, mid_body=True, endpoint=LISTING),
    "malformed-json": lambda ms, page: ms.malformed_json(page=page, times=None, endpoint=LISTING),
    "nextlink-loop": lambda ms, page: ms.nextlink_loop(page=page, endpoint=LISTING),
}
TOKEN_FAULTS = {
    "token-throttled": lambda ms, s: ms.throttle(times=None, retry_after="0.01", endpoint="token"),
    "token-unavailable-503": lambda ms, s: ms.server_error(503, times=None, endpoint="token"),
    "token-connection-dropped": lambda ms, s: ms.drop_connection(times=None, endpoint="token"),
    "token-malformed-json": lambda ms, s: ms.malformed_json(times=None, endpoint="token"),
    "discovery-unavailable": lambda ms, s: ms.server_error(503, times=None, endpoint="discovery"),
    "wrong-secret": lambda ms, s: s.app.secrets.clear() or s.app.add_secret("another-value"),
    "expired-secret": lambda ms, s: setattr(s.app.secrets[0], "expires_at", 1.0),
    "unknown-client": lambda ms, s: s.tenant.apps.pop(s.app.client_id),
    "unknown-tenant": lambda ms, s: ms.directory.tenants.pop(s.tenant.tenant_id),
    "permission-missing": lambda ms, s: s.app.permissions.clear(),
}


@pytest.fixture
def tenant_with_changes(fake_ms, company, make_user, settings_fast_retries):
    """A synced 5-page tenant (with a linked user), then changes a good run would apply on every page."""
    users = generate_users(PAGES * PAGE_SIZE, seed=11)
    setup = fake_ms.configure(company, users=users)
    fake_ms.ignore_top(PAGE_SIZE)
    assert sync(company).status == SyncRun.Status.SUCCEEDED
    setup.linked = make_user(company, aad_contact=Contact.objects.get(object_id=users[260]["id"]))
    assert sync(company).status == SyncRun.Status.SUCCEEDED
    for user in users[::9]:
        setup.tenant.update_user(user["id"], givenName="Renamed", mobilePhone="+82 10 0000 0000")
    setup.tenant.update_user(users[260]["id"], surname="Changed")
    setup.tenant.remove_user(users[5]["id"])
    setup.tenant.add_users([graph_user(), graph_user()])
    setup.users = users
    return setup


def _assert_failed_cleanly(company, before, runs_before):
    run = SyncRun.objects.filter(company=company).first()
    assert SyncRun.objects.filter(company=company).count() == runs_before + 1
    assert run.status == SyncRun.Status.FAILED, (run.status, run.error)
    assert run.finished_at is not None and run.started_at is not None and run.finished_at >= run.started_at
    assert run.error and run.error.endswith("Nothing in the Company Directory was changed."), run.error
    assert "Traceback" not in run.error
    assert (run.created, run.updated, run.removed) == (0, 0, 0)
    assert not SyncRun.objects.filter(company=company, status__in=SyncRun.ACTIVE_STATUSES).exists()
    assert snapshot(company) == before
    return run


def _assert_recovers(fake_ms, setup, full):
    fake_ms.faults.clear()
    run = sync(setup.company, full=full)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created == 2 and run.updated > 0
    setup.linked.refresh_from_db()
    assert setup.linked.last_name == "Changed"
    assert Contact.objects.get(company=setup.company, object_id=setup.users[5]["id"]).aad_state == "removed"


# A full run reads 5 pages; an incremental round of these few changes is a single page.
RUN_PHASES = [("full", phase) for phase in PHASES] + [("incremental", "first-page")]


@pytest.mark.parametrize(("mode", "phase"), RUN_PHASES, ids=[f"{m}-{p}" for m, p in RUN_PHASES])
@pytest.mark.parametrize("fault", list(PAGE_FAULTS))
def test_listing_fault_leaves_directory_and_history_true(fake_ms, tenant_with_changes, fault, phase, mode):
    company = tenant_with_changes.company
    full = mode == "full"
    page = PHASES[phase]
    before, runs_before = snapshot(company), SyncRun.objects.filter(company=company).count()
    PAGE_FAULTS[fault](fake_ms, page)
    fake_ms.requests.clear()

    sync(company, full=full)

    run = _assert_failed_cleanly(company, before, runs_before)
    assert run.mode == mode

    listing = list(fake_ms.requests_to("users_delta") + fake_ms.requests_to("users"))
    assert max(r.get("page") or 1 for r in listing) == page  # it failed where the fault was, not later
    assert run.pages_read < page or fault == "nextlink-loop"
    _assert_recovers(fake_ms, tenant_with_changes, full)


@pytest.mark.parametrize("fault", list(TOKEN_FAULTS))
def test_token_phase_fault_leaves_directory_and_history_true(fake_ms, tenant_with_changes, fault):
    company = tenant_with_changes.company
    from aadsync.microsoft.tokens import msal_apps_clear

    msal_apps_clear()  # no cached token: this run must ask for one
    fake_ms.revoke_tokens()
    before, runs_before = snapshot(company), SyncRun.objects.filter(company=company).count()
    TOKEN_FAULTS[fault](fake_ms, tenant_with_changes)

    run = sync(company, full=True)

    assert run == SyncRun.objects.filter(company=company).first()
    _assert_failed_cleanly(company, before, runs_before)
    assert run.pages_read == 0
