"""One-time Sync in chromium against a real Celery worker: the status moves from queued through running (pages
and accounts read from Microsoft) to the final counts without a page reload, a second click says "already running", and
the run shows in the sync history. On Redis and on the embedded filesystem broker."""
import re

import pytest
from playwright.sync_api import expect

from aadsync.models import SyncRun
from tests.aadsync.celery_harness import CeleryProcesses, make_broker, publishing_to
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["redis", "filesystem"])  # CI always has Redis: a missing one fails, never skips
def worker(request, tmp_path, fake_ms, transactional_db, monkeypatch):
    """A Celery worker process, and this process (the live server) publishing to its broker."""
    broker = make_broker(request.param, tmp_path)
    processes = CeleryProcesses(broker=broker, workdir=tmp_path, extra_env=dict(fake_ms.env()))
    try:
        with publishing_to(broker, monkeypatch):
            processes.start_worker()
            yield processes
    finally:
        processes.stop_all()
        broker.cleanup()


def test_one_time_sync_shows_live_status_then_counts_and_the_run_in_history(
    page, login_as, manager, company, fake_ms, worker, request
):
    fake_ms.configure(company, users=1000)
    fake_ms.ignore_top(100)  # ten pages...
    fake_ms.add_latency(0.5)  # ...slow enough to watch it run (and click again while it does)
    login_as(manager, PASSWORD)
    page.evaluate("window.samePage = true")  # gone if anything reloads the page
    button = page.get_by_role("button", name="One-time Sync")
    expect(button).to_be_enabled()

    button.click()
    message = page.get_by_test_id("sync-message")
    expect(message).to_contain_text("One-time Sync queued")
    progress = page.get_by_test_id("run-progress")
    expect(progress).to_contain_text(re.compile(r"Reading from Microsoft: [1-9]\d* pages?, [1-9][\d,]* accounts? read"),
                                     timeout=15_000)
    expect(page.get_by_test_id("run-status")).to_have_text("Running")
    expect(message).to_be_hidden()  # "queued" no longer: the status below says Running

    button.click()  # while it runs
    expect(message).to_contain_text("already running")

    counts = page.get_by_test_id("run-counts")
    expect(counts).to_contain_text(re.compile(r"Looked up 1,000 accounts: \d+ created, 0 changed, 0 unchanged"),
                                   timeout=30_000)
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(message).to_have_text("The look-up finished: the counts are below.")
    assert page.evaluate("window.samePage") is True
    run = SyncRun.objects.get(company=company)
    assert (run.trigger, run.status, run.requested_by_id) == ("one-time", "succeeded", manager.pk)
    assert run.looked_up == 1000 == run.created + run.disabled + run.skipped and run.pages_read == 10
    assert f"{run.created} created" in counts.inner_text()
    screenshot(page, f"one-time-sync-{request.node.callspec.id}")

    page.get_by_role("link", name="All look-ups").click()
    page.wait_for_url("**/aad/history/")
    row = page.get_by_test_id("history-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("One-time Sync")
    expect(row).to_contain_text(manager.username)
    expect(row.get_by_test_id("history-status")).to_have_text("Succeeded")
    expect(row).to_contain_text(str(run.created))
    expect(page.get_by_role("link", name="Sync History")).to_have_attribute("aria-current", "page")


def test_one_time_sync_is_disabled_and_explained_when_usage_is_not_use(page, login_as, manager, company, fake_ms):
    fake_ms.configure(company, use_lookup=False)
    login_as(manager, PASSWORD)
    expect(page.get_by_role("button", name="One-time Sync")).to_be_disabled()
    expect(page.get_by_test_id("sync-hint")).to_have_text(
        "User Look-Up Usage is Not Use: click Modify, set it to Use and save to run a look-up."
    )
    expect(page.get_by_test_id("next-run")).to_contain_text("None: User Look-Up Usage is Not Use")
    assert not SyncRun.objects.exists()


def test_one_time_sync_that_fails_shows_the_sentence(page, login_as, manager, company, fake_ms, worker):
    from aadsync.services import Actor, aad_settings_update

    setup = fake_ms.configure(company)
    aad_settings_update(company=company, data={}, secret=setup.secret + "-wrong", actor=Actor(person=None))
    login_as(manager, PASSWORD)
    page.get_by_role("button", name="One-time Sync").click()
    error = page.get_by_test_id("run-error")
    expect(error).to_be_visible(timeout=30_000)
    run = SyncRun.objects.get(company=company)
    assert run.status == "failed" and run.error
    expect(error).to_have_text(run.error)
    expect(page.get_by_test_id("sync-message")).to_have_text("The look-up failed: the reason is below.")
    assert setup.secret not in page.content()
