"""Saving the MS AAD settings recomputes when the schedule runs next; Not Use stops scheduled runs."""
from datetime import UTC, datetime

import pytest

from aadsync.models import AadSettings
from aadsync.services import Actor, aad_settings_update

pytestmark = pytest.mark.django_db
GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"
SAVED_AT = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York, the day before clocks jump


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr("aadsync.services.timezone.now", lambda: SAVED_AT)


def _save(company, **data):
    values = {"use_lookup": True, "tenant_id": GUID_T, "client_id": GUID_C, "period": "daily",
              "exec_hour": 2, "exec_minute": 30, "exec_second": 0}
    values.update(data)
    aad_settings_update(company=company, data=values, secret="s3cret", actor=Actor(person=None, source="test"))
    return AadSettings.objects.get(company=company)


@pytest.fixture
def ny_company(make_company):
    return make_company(slug="ny-co", name="NY Co", timezone="America/New_York")


def test_saving_with_use_stores_the_next_run_in_the_company_time_zone(ny_company, frozen_now):
    # 02:30 does not exist in New York on 2026-03-08: the run is at the jump, 03:00 EDT.
    assert _save(ny_company).next_run_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_changing_the_time_recomputes_the_next_run(ny_company, frozen_now):
    _save(ny_company)
    assert _save(ny_company, exec_hour=11).next_run_at == datetime(2026, 3, 7, 16, 30, tzinfo=UTC)


def test_changing_the_period_recomputes_the_next_run(ny_company, frozen_now):
    _save(ny_company)
    row = _save(ny_company, period="monthly", month_day=31)
    assert row.next_run_at == datetime(2026, 3, 31, 6, 30, tzinfo=UTC)  # 02:30 EDT


def test_not_use_clears_the_next_run(ny_company, frozen_now):
    _save(ny_company)
    assert _save(ny_company, use_lookup=False).next_run_at is None


def test_setting_use_again_schedules_again(ny_company, frozen_now):
    _save(ny_company, use_lookup=False)
    assert _save(ny_company, use_lookup=True).next_run_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
