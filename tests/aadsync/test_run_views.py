"""One-time Sync (POST), the live status JSON, the sync history page, and the MS AAD page's schedule and button."""
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from aadsync.models import AadSettings, SyncRun
from aadsync.runs import sync_run_create, sync_run_progress_set
from tests.aadsync.run_helpers import configure, published  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def _ended(company, status, **fields) -> SyncRun:
    run = sync_run_create(company=company, trigger=fields.pop("trigger", SyncRun.Trigger.SCHEDULE))
    SyncRun.objects.filter(pk=run.pk).update(status=status, **fields)
    run.refresh_from_db()
    return run


# ---- One-time Sync ---------------------------------------------------------------------------------------


def test_one_time_sync_queues_a_run_and_answers_its_status(manager_client, company, manager, published,
                                                           django_capture_on_commit_callbacks):
    configure(company)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post("/aad/sync/", **JSON)
    assert response.status_code == 202
    run = SyncRun.objects.get(company=company)
    assert (run.trigger, run.status, run.requested_by) == ("one-time", "queued", manager)
    assert published == [run.pk]
    body = response.json()
    assert body["message"].startswith("One-time Sync queued")
    assert body["run"]["id"] == run.pk and body["run"]["status"] == "queued" and body["run"]["active"] is True
    assert "Waiting for a worker" in body["html"]


def test_clicking_again_while_queued_says_already_running_and_starts_nothing(manager_client, company, published):
    configure(company)
    manager_client.post("/aad/sync/", **JSON)
    response = manager_client.post("/aad/sync/", **JSON)
    assert response.status_code == 409
    assert "already running" in response.json()["message"]
    assert response.json()["run"]["status"] == "queued"
    assert SyncRun.objects.count() == 1


def test_clicking_while_running_says_already_running(manager_client, company, published):
    configure(company)
    _ended(company, "running", started_at=timezone.now())
    response = manager_client.post("/aad/sync/", **JSON)
    assert response.status_code == 409
    assert "already running" in response.json()["message"]
    assert SyncRun.objects.count() == 1


def test_one_time_sync_refused_when_usage_is_not_use(manager_client, company, published):
    configure(company, use=False)
    response = manager_client.post("/aad/sync/", **JSON)
    assert response.status_code == 409
    assert "User Look-Up Usage is Not Use" in response.json()["message"]
    assert not SyncRun.objects.exists()


def test_one_time_sync_without_script_redirects_with_a_message(manager_client, company, published):
    configure(company)
    response = manager_client.post("/aad/sync/", follow=True)
    assert response.redirect_chain == [("/aad/", 302)]
    assert "One-time Sync queued" in response.content.decode()
    assert SyncRun.objects.count() == 1


def test_one_time_sync_is_post_only(manager_client):
    assert manager_client.get("/aad/sync/").status_code == 405


def test_one_time_sync_needs_the_csrf_token(client, manager, company, published):
    configure(company)
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)
    assert strict.post("/aad/sync/", **JSON).status_code == 403
    assert not SyncRun.objects.exists()


def test_pages_of_runs_are_for_managers_only(client, phone_user):
    assert client.post("/aad/sync/")["Location"].startswith("/login/")
    assert client.get("/aad/sync/status/")["Location"].startswith("/login/")
    assert client.get("/aad/history/")["Location"].startswith("/login/")
    client.force_login(phone_user)
    assert client.post("/aad/sync/").status_code == 403
    assert client.get("/aad/sync/status/").status_code == 403
    assert client.get("/aad/history/").status_code == 403


# ---- live status -----------------------------------------------------------------------------------------


def test_status_without_any_run(manager_client):
    response = manager_client.get("/aad/sync/status/")
    assert response.json()["run"] is None
    assert "No look-up has run yet" in response.json()["html"]
    assert "no-cache" in response["Cache-Control"]


def test_status_while_running_shows_pages_read_and_users_applied(manager_client, company):
    run = _ended(company, "running", started_at=timezone.now())
    sync_run_progress_set(run=run, progress={"pages_read": 3, "users_read": 2997})
    body = manager_client.get("/aad/sync/status/").json()
    assert (body["run"]["status"], body["run"]["pages_read"], body["run"]["users_read"]) == ("running", 3, 2997)
    assert "Reading from Microsoft: 3 pages, 2997 accounts read so far" in body["html"]
    sync_run_progress_set(run=run, progress={"pages_read": 3, "users_read": 2997, "users_applied": 1500})
    assert "Writing to the directory: 1500 accounts applied so far" in manager_client.get("/aad/sync/status/").json()[
        "html"]


def test_status_while_waiting_for_a_throttling_microsoft_says_how_long(manager_client, company):
    run = _ended(company, "running", started_at=timezone.now())
    sync_run_progress_set(run=run, progress={"pages_read": 40, "users_read": 39960,
                                             "waiting_until": time.time() + 150, "waiting_why": "throttled"})
    body = manager_client.get("/aad/sync/status/").json()
    assert 149 <= body["run"]["waiting_seconds"] <= 150
    assert "Waiting 1" in body["html"] and " s for Microsoft (throttled)" in body["html"]


def test_status_of_a_finished_run_shows_its_counts(manager_client, company):
    started = timezone.now() - timedelta(seconds=5)
    _ended(company, "succeeded", started_at=started, finished_at=started + timedelta(seconds=2.5),
           created=10, updated=2, unchanged=30, disabled=1, removed=0, skipped=4, pages_read=1, users_applied=47)
    body = manager_client.get("/aad/sync/status/").json()
    assert body["run"]["active"] is False
    assert (body["run"]["created"], body["run"]["skipped"], body["run"]["duration_seconds"]) == (10, 4, 2.5)
    assert ("10 created, 2 changed, 30 unchanged, 1 disabled, 4 skipped (guests or out of scope); 0 removed or out "
            "of scope (no longer listed).") in body["html"]


def test_status_of_a_failed_run_shows_the_sentence(manager_client, company):
    sentence = "The client secret is wrong: paste the secret Value (not its ID) from the Azure AD portal."
    _ended(company, "failed", error=sentence, finished_at=timezone.now())
    body = manager_client.get("/aad/sync/status/").json()
    assert body["run"]["error"] == sentence
    assert sentence in body["html"]


def test_status_is_the_companys_own(manager_client, other_company):
    _ended(other_company, "failed", error="Other company's error", finished_at=timezone.now())
    assert manager_client.get("/aad/sync/status/").json()["run"] is None


# ---- history ---------------------------------------------------------------------------------------------


def test_history_lists_runs_newest_first_with_trigger_times_counts_and_errors(manager_client, company, manager):
    base = timezone.now() - timedelta(hours=3)
    _ended(company, "succeeded", queued_at=base, started_at=base, finished_at=base + timedelta(seconds=4),
           created=7, trigger=SyncRun.Trigger.SCHEDULE)
    _ended(company, "failed", queued_at=base + timedelta(hours=1), error="Microsoft could not be reached.",
           trigger=SyncRun.Trigger.COMMAND, finished_at=base + timedelta(hours=1))
    newest = _ended(company, "succeeded", queued_at=base + timedelta(hours=2), started_at=base + timedelta(hours=2),
                    finished_at=base + timedelta(hours=2, seconds=1), trigger=SyncRun.Trigger.ONE_TIME,
                    requested_by=manager)
    html = manager_client.get("/aad/history/").content.decode()
    rows = html.split('data-testid="history-row"')[1:]
    assert next(row.split('data-run="')[1].split('"')[0] for row in rows) == str(newest.pk)
    assert "One-time Sync" in rows[0] and "by rich@cm1-vertical" in rows[0] and "1.0 s" in rows[0]
    assert "Command" in rows[1] and "Microsoft could not be reached." in rows[1]
    assert "Schedule" in rows[2] and ">7<" in rows[2] and "4.0 s" in rows[2]
    assert 'aria-current="page">Sync History' in html


def test_history_shows_times_in_the_company_time_zone(manager_client, company):
    _ended(company, "succeeded", queued_at=datetime(2026, 6, 10, 17, 0, tzinfo=UTC))
    assert "2026-06-11 02:00:00" in manager_client.get("/aad/history/").content.decode()  # Asia/Seoul


def test_history_is_paginated(manager_client, company):
    base = timezone.now() - timedelta(days=1)
    for minute in range(30):
        _ended(company, "failed", queued_at=base + timedelta(minutes=minute), error=f"run {minute}")
    first = manager_client.get("/aad/history/").content.decode()
    second = manager_client.get("/aad/history/?page=2").content.decode()
    assert first.count('data-testid="history-row"') == 25 and second.count('data-testid="history-row"') == 5
    assert first.index("run 29") < first.index("run 28") and "run 4<" not in first
    assert "run 4<" in second and "Page 2 of 2 (30 look-ups)" in second
    assert manager_client.get("/aad/history/?page=99").status_code == 200  # out of range: the last page


def test_history_is_the_companys_own(manager_client, other_company):
    _ended(other_company, "failed", error="Other company's error")
    html = manager_client.get("/aad/history/").content.decode()
    assert "Other company's error" not in html
    assert "No look-up has run yet" in html


# ---- the MS AAD page -------------------------------------------------------------------------------------


def test_page_shows_the_next_run_in_the_company_time_zone(manager_client, company):
    configure(company, next_run_at=datetime(2026, 6, 10, 17, 0, tzinfo=UTC))
    html = manager_client.get("/aad/").content.decode()
    assert "2026-06-11 (Thu) 02:00:00" in html and "Asia/Seoul" in html


def test_page_says_not_use_has_no_next_run(manager_client, company):
    configure(company, use=False)
    assert "None: User Look-Up Usage is Not Use" in manager_client.get("/aad/").content.decode()


def _button(html: str) -> str:
    return html.split('data-testid="one-time-sync"')[1].split(">", maxsplit=1)[0]


def test_button_is_enabled_when_settings_are_complete_and_in_use(manager_client, company):
    configure(company)
    html = manager_client.get("/aad/").content.decode()
    assert "disabled" not in _button(html)
    assert 'form="one-time-sync-form"' in html and 'id="one-time-sync-form"' in html


def test_button_is_disabled_and_explained_when_usage_is_not_use(manager_client, company):
    configure(company, use=False)
    html = manager_client.get("/aad/").content.decode()
    assert "disabled" in _button(html)
    assert "User Look-Up Usage is Not Use: click Modify, set it to Use and save" in html


def test_button_is_disabled_and_explained_when_settings_are_incomplete(manager_client, company):
    AadSettings.objects.create(company=company)
    html = manager_client.get("/aad/").content.decode()
    assert "disabled" in _button(html)
    assert "One-time Sync needs the Tenant ID, Client ID and Secret Code" in html


def test_button_is_disabled_while_editing(manager_client, company):
    configure(company)
    html = manager_client.get("/aad/?mode=edit").content.decode()
    assert "disabled" in _button(html)
    assert "Save or cancel your changes before running a One-time Sync." in html


def test_page_polls_only_while_a_run_is_active(manager_client, company):
    configure(company)
    assert 'data-active="false"' in manager_client.get("/aad/").content.decode()
    sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)
    html = manager_client.get("/aad/").content.decode()
    assert 'data-active="true"' in html and 'data-status-url="/aad/sync/status/"' in html
    assert "js/sync_status.js" in html
