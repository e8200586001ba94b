"""One-time Sync's "queued" message stays only while the run waits: once the status below says the run started, the
message goes (static/js/sync_status.js). No worker here: the test itself moves the run from queued to running."""
import pytest
from playwright.sync_api import expect

from aadsync.models import SyncRun
from aadsync.runs import sync_run_claim
from tests.aadsync.celery_harness import make_broker, publishing_to
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_queued_message_goes_when_the_run_starts(page, login_as, manager, company, fake_ms, tmp_path, monkeypatch):
    fake_ms.configure(company)
    broker = make_broker("filesystem", tmp_path)  # the click's message lands in a folder no worker reads
    with publishing_to(broker, monkeypatch):
        login_as(manager, PASSWORD)
        page.get_by_role("button", name="One-time Sync").click()
        message = page.get_by_test_id("sync-message")
        expect(message).to_contain_text("One-time Sync queued")
        expect(page.get_by_test_id("run-status")).to_have_text("Queued")
        expect(message).to_be_visible()
        sync_run_claim(run=SyncRun.objects.get(company=company))
        expect(page.get_by_test_id("run-status")).not_to_have_text("Queued", timeout=5_000)
        expect(message).to_be_hidden()
