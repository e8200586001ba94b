"""aadconfig asks Microsoft before saving Use with new credentials: the sentence and exit 1 on a refusal, nothing
saved; --no-verify saves anyway and says so in the change log."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from aadsync import crypto
from aadsync.errors import SENTENCES
from aadsync.models import AadSettings, AadSettingsChange
from tests.conftest import SECRET

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"


@pytest.fixture
def app(fake_ms):
    return fake_ms.add_app(fake_ms.add_tenant(GUID_T), GUID_C, secret=SECRET)


def _aadconfig(company, monkeypatch, secret, **options):
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    out = io.StringIO()
    call_command("aadconfig", company=company.slug, tenant_id=GUID_T, client_id=GUID_C, secret_stdin=True,
                 use=True, stdout=out, **options)
    return out.getvalue()


def test_verified_credentials_are_saved_and_confirmed(company, monkeypatch, app, fake_ms):
    out = _aadconfig(company, monkeypatch, SECRET)
    assert "Connected: Microsoft issued a token and the app can read users." in out
    assert [entry["endpoint"] for entry in fake_ms.requests_to("token", "users")] == ["token", "users"]
    assert AadSettings.objects.get(company=company).use_lookup
    assert AadSettingsChange.objects.get(company=company).note == ""


def test_a_wrong_secret_is_refused_with_the_sentence_and_nothing_is_saved(company, monkeypatch, app):
    with pytest.raises(CommandError) as refused:
        _aadconfig(company, monkeypatch, "wrong~secret-value")
    assert str(refused.value) == "Nothing saved. " + SENTENCES["wrong_secret"]
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()
    assert not AadSettingsChange.objects.filter(company=company).exists()


def test_unreachable_microsoft_points_at_no_verify(company, monkeypatch, app, fake_ms, settings):
    settings.AAD_AUTHORITY_HOST = fake_ms.closed_url()
    with pytest.raises(CommandError, match=r"could not be reached.*--no-verify saves them anyway"):
        _aadconfig(company, monkeypatch, SECRET)
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()


def test_no_verify_saves_without_asking_and_records_it(company, monkeypatch, fake_ms):
    out = _aadconfig(company, monkeypatch, "never~checked-secret", no_verify=True)  # Microsoft knows no such app
    assert "Connected" not in out
    assert fake_ms.requests_to("token", "users", "discovery") == []
    row = AadSettings.objects.get(company=company)
    assert row.use_lookup and crypto.decrypt(row.secret_encrypted) == "never~checked-secret"
    assert AadSettingsChange.objects.get(company=company).note == "Saved without checking (aadconfig --no-verify)."


def test_changing_only_the_schedule_does_not_ask_microsoft(company, monkeypatch, app, fake_ms):
    _aadconfig(company, monkeypatch, SECRET)
    fake_ms.requests.clear()
    fake_ms.add_fault("status", status=503, endpoint=None)  # would refuse anything asked
    out = io.StringIO()
    call_command("aadconfig", company=company.slug, tenant_id=GUID_T, client_id=GUID_C, time="05:00:00", stdout=out)
    assert "Execution hour changed." in out.getvalue()
    assert list(fake_ms.requests) == []


def test_a_typed_expiry_date_is_stored(company, monkeypatch, app):
    _aadconfig(company, monkeypatch, SECRET, secret_expires_on="2031-04-05")
    row = AadSettings.objects.get(company=company)
    assert row.secret_expiry_source == "typed"
    assert row.secret_expires_at.astimezone(company.tzinfo).date().isoformat() == "2031-04-05"


def test_a_refusal_exits_1_with_one_line(tmp_path, fake_ms):
    """Through manage.py: the operator sees the sentence on stderr and exit status 1."""
    env = {"PATH": "/usr/bin:/bin", "CMPORTAL_VAR_DIR": str(tmp_path), "HOME": str(tmp_path), **fake_ms.env()}
    python = str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable
    for args in (["migrate", "-v0"], ["createcompany", "cm5-cli", "--name", "CLI"]):
        subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    fake_ms.add_app(fake_ms.add_tenant(GUID_T), GUID_C, secret=SECRET)
    result = subprocess.run(
        [python, "manage.py", "aadconfig", "--company", "cm5-cli", "--tenant-id", GUID_T, "--client-id", GUID_C,
         "--secret-stdin", "--use"], cwd=ROOT, env=env, input="wrong~secret\n", capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "CommandError: Nothing saved. " + SENTENCES["wrong_secret"]
