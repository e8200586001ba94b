"""Operators' commands: createcompany, createmanager, aadconfig (one-line errors, exit status 1)."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from aadsync.models import AadSettings, AadSettingsChange
from directory.models import Company, Person
from tests.conftest import PASSWORD, SECRET

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"


def test_createcompany_makes_company_and_main_site():
    call_command("createcompany", "cm9-acme", name="Acme", timezone="America/New_York", stdout=io.StringIO())
    company = Company.objects.get(slug="cm9-acme")
    assert company.timezone == "America/New_York"
    assert [site.name for site in company.sites.all()] == ["Main"]


@pytest.mark.parametrize("args,message", [
    (["Bad Slug", "--name", "x"], "slug"),
    (["ok-slug", "--name", "x", "--timezone", "Mars/Olympus"], "not a known time zone"),
])
def test_createcompany_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("createcompany", *args)


def test_createcompany_refuses_a_duplicate_slug(company):
    with pytest.raises(CommandError, match="already exists"):
        call_command("createcompany", company.slug, name="again")


def test_createmanager_takes_the_password_from_the_environment(company, monkeypatch):
    monkeypatch.setenv("CM_PASSWORD", PASSWORD)
    call_command("createmanager", company=company.slug, login="amy", name="Amy", email="amy@x.com", stdout=io.StringIO())
    amy = Person.objects.get(username="amy@cm1-vertical")
    assert amy.is_manager and amy.check_password(PASSWORD)


@pytest.mark.parametrize("extra,message", [
    ({"name": "x" * 25}, "at most 24 characters"),
    ({"password": "short"}, "at least 8 characters"),
    ({"password": "x" * 129}, "at most 128 characters"),
    ({"company": "nope"}, "No company"),
])
def test_createmanager_refuses_bad_input(company, extra, message):
    options = {"company": company.slug, "login": "amy", "name": "Amy", "email": "amy@x.com", "password": PASSWORD}
    options.update(extra)
    with pytest.raises(CommandError, match=message):
        call_command("createmanager", **options)


def test_aadconfig_sets_everything_and_reads_the_secret_from_stdin(company, monkeypatch, fake_ms):
    fake_ms.add_app(fake_ms.add_tenant(GUID_T), GUID_C, secret=SECRET)  # aadconfig asks Microsoft before saving
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    out = io.StringIO()
    call_command("aadconfig", company=company.slug, tenant_id=GUID_T, client_id=GUID_C, secret_stdin=True,
                 period="monthly", month_day=31, time="23:59:58", use=True, stdout=out)
    row = AadSettings.objects.get(company=company)
    assert (row.use_lookup, row.period, row.month_day, row.execution_time_display) == (True, "monthly", 31, "23:59:58")
    assert SECRET not in out.getvalue()
    assert AadSettingsChange.objects.get(company=company).changed_by_label == "operator (aadconfig)"


@pytest.mark.parametrize("extra,message", [
    ({"tenant_id": "123"}, "Tenant ID must be a GUID"),
    ({"time": "24:00:00"}, "out of range"),
    ({"time": "2am"}, "HH:MM:SS"),
    ({"use": True}, "required the first time"),
])
def test_aadconfig_refuses_bad_input(company, extra, message):
    options = {"company": company.slug, "tenant_id": GUID_T, "client_id": GUID_C}
    options.update(extra)
    with pytest.raises(CommandError, match=message):
        call_command("aadconfig", **options)


@pytest.mark.parametrize("command", ["createcompany", "createmanager", "aadconfig"])
def test_commands_have_help(command):
    result = subprocess.run([sys.executable, "manage.py", command, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    assert "usage:" in result.stdout


def test_bad_input_exits_1_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CMPORTAL_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "createcompany", "Bad Slug", "--name", "x"],
        cwd=ROOT, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("CommandError: slug:")
