"""Helpers for the scheduling and One-time Sync tests: configured MS AAD settings rows, recorded publishing."""
import pytest

from aadsync import crypto, dispatch
from aadsync.models import AadSettings

GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"


def configure(company, *, use=True, next_run_at=None, period="daily", hour=2, secret="x", **extra) -> AadSettings:
    """Complete MS AAD settings for `company` (Usage = Use unless use=False), written directly."""
    row, _ = AadSettings.objects.update_or_create(
        company=company,
        defaults=dict(use_lookup=use, tenant_id=extra.pop("tenant_id", GUID_T), client_id=extra.pop("client_id", GUID_C),
                      secret_encrypted=crypto.encrypt(secret), period=period, exec_hour=hour,
                      next_run_at=next_run_at, **extra),
    )
    return row


@pytest.fixture
def published(monkeypatch):
    """Run ids handed to the broker, in order; nothing reaches a real broker."""
    seen: list[int] = []
    monkeypatch.setattr(dispatch, "sync_runs_publish", seen.extend)
    return seen
