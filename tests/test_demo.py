"""bin/run's demo: the demo Microsoft (a real process, as bin/run starts it) and `manage.py demo` on a fresh database
give synced directory rows, a linked manager who signs in with Microsoft, and no way to hand it a real tenant."""
import os
import subprocess
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from aadsync.forms import AadSettingsForm
from aadsync.models import AadSettings, SyncRun
from directory.models import Company, Contact, Person
from tests.fakems.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID
from tests.fakems.demo_fixtures import demo_microsoft, demo_microsoft_process, demo_microsoft_stop, demo_mode  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]
REAL_TENANT = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"


def _demo(demo) -> str:
    out = StringIO()
    call_command("demo", microsoft=str(demo.demo_json), stdout=out)
    return out.getvalue()


def test_demo_brings_synced_rows_and_a_linked_manager_on_a_fresh_database(demo_mode):
    output = _demo(demo_mode)
    company = Company.objects.get(slug="cm1-vertical")
    row = AadSettings.objects.get(company=company)
    assert (row.use_lookup, row.tenant_id, row.client_id) == (True, DEMO_TENANT_ID, DEMO_CLIENT_ID) and row.has_secret
    run = SyncRun.objects.get(company=company)
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages_read >= 1
    synced = Contact.objects.filter(company=company, synced=True)
    assert synced.count() == 60 - run.skipped > 40  # the demo tenant of 60 users, guests skipped
    manager = Person.objects.get(company=company, login="rich")
    assert manager.aad_contact.user_principal_name == demo_mode.demo["manager_account"]
    user = Person.objects.get(company=company, login="27728")
    assert user.aad_contact.user_principal_name == demo_mode.demo["user_account"]
    assert Person.objects.filter(company=company, role=Person.Role.USER).count() == 2
    assert "First look-up" in output and demo_mode.demo["manager_account"] in output


def test_demo_run_again_changes_nothing(demo_mode):
    _demo(demo_mode)
    def state():
        links = list(Person.objects.order_by("pk").values_list("aad_contact", flat=True))
        return SyncRun.objects.count(), Contact.objects.count(), links

    before = state()
    _demo(demo_mode)
    assert state() == before


def test_demo_forgets_a_change_position_at_a_port_that_moved(demo_mode):
    _demo(demo_mode)
    company = Company.objects.get(slug="cm1-vertical")
    moved = AadSettings.objects.get(company=company).delta_link.replace(
        urlsplit(demo_mode.env["GRAPH_API_URL"]).netloc, "127.0.0.1:1")
    AadSettings.objects.filter(company=company).update(delta_link=moved)
    _demo(demo_mode)
    assert AadSettings.objects.get(company=company).delta_link == ""  # the next look-up reads the full listing


def test_demo_refuses_when_a_company_s_look_ups_name_a_real_tenant(demo_mode, make_company):
    other = make_company(slug="cm2-real", name="Real Co")
    AadSettings.objects.create(company=other, use_lookup=False, tenant_id=REAL_TENANT, client_id=DEMO_CLIENT_ID)
    AadSettings.objects.filter(company=other).update(use_lookup=True, secret_encrypted="x")
    with pytest.raises(CommandError, match=r"cm2-real \(tenant 43d42458.*bin/run --no-demo"):
        _demo(demo_mode)
    assert not SyncRun.objects.exists()


def test_demo_leaves_a_company_with_its_own_tenant_as_it_is(demo_mode, company):
    AadSettings.objects.create(company=company, use_lookup=False, tenant_id=REAL_TENANT)
    assert "left as they are" in _demo(demo_mode)
    assert AadSettings.objects.get(company=company).tenant_id == REAL_TENANT
    assert not SyncRun.objects.exists()


def test_demo_runs_only_in_demo_mode(demo_microsoft, settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="only in demo mode"):
        _demo(demo_microsoft)
    assert not Company.objects.exists()


def test_in_demo_mode_the_ms_aad_form_refuses_any_tenant_but_the_demo_one(demo_mode):
    data = {"use_lookup": "use", "tenant_id": REAL_TENANT, "client_id": DEMO_CLIENT_ID, "secret": "s3cret",
            "period": "daily", "weekday": 0, "month_day": 1, "exec_hour": 2, "exec_minute": 0, "exec_second": 0}
    form = AadSettingsForm(data)
    assert not form.is_valid()
    refusal = form.errors["tenant_id"][0]
    assert "offline demo Microsoft" in refusal and "bin/run --no-demo" in refusal
    assert AadSettingsForm({**data, "tenant_id": DEMO_TENANT_ID.upper()}).is_valid()


def test_outside_demo_mode_any_tenant_is_accepted(settings):
    settings.DEMO_MODE = False
    data = {"use_lookup": "use", "tenant_id": REAL_TENANT, "client_id": DEMO_CLIENT_ID, "secret": "s3cret",
            "period": "daily", "weekday": 0, "month_day": 1, "exec_hour": 2, "exec_minute": 0, "exec_second": 0}
    assert AadSettingsForm(data).is_valid()


def test_the_ms_aad_page_and_the_login_page_announce_demo_mode(demo_mode, manager_client):
    _demo(demo_mode)
    page = manager_client.get("/aad/").content.decode()
    assert "Demo mode:" in page and "offline demo Microsoft" in page and "bin/run --no-demo" in page
    manager_client.logout()
    login = manager_client.get("/login/")
    assert "Demo mode:" in login.content.decode() and demo_mode.demo["manager_account"] in login.content.decode()
    assert demo_mode.env["CMPORTAL_DEMO_SIGNIN_ORIGIN"] in login["Content-Security-Policy"]


def test_pages_say_nothing_of_a_demo_outside_demo_mode(manager_client, settings):
    settings.DEMO_MODE = False
    assert "Demo mode" not in manager_client.get("/aad/").content.decode()


def test_manager_signs_in_with_microsoft_at_the_demo_microsoft(demo_mode, client):
    """The browser's part goes to the demo's plain-http sign-in pages (no certificate warning); the account
    picker lists the demo manager's account; the callback signs rich in."""
    _demo(demo_mode)
    start = client.get("/login/microsoft/", {"login_hint": "cm1-vertical", "portal": "cm"})
    assert start.status_code == 302
    assert start.url.startswith(demo_mode.env["CMPORTAL_DEMO_SIGNIN_ORIGIN"] + "/")
    picker = requests.get(start.url, timeout=5)
    assert picker.status_code == 200 and demo_mode.demo["manager_account"] in picker.text
    choice = picker.text.split("href='")[1].split("'")[0].replace("&amp;", "&")
    answer = requests.get(urlsplit(start.url)._replace(query=choice[1:]).geturl(), allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    callback = client.get(answer.headers["Location"])
    assert callback.status_code == 302 and callback.url == "/aad/"
    assert int(client.session["_auth_user_id"]) == Person.objects.get(login="rich").pk


def test_a_real_tenant_never_reaches_a_token_request_at_the_demo_microsoft(demo_mode):
    """Defence in depth: were a real tenant stored anyway (e.g. by an operator's SQL), msal's discovery at the demo
    Microsoft fails with AADSTS90002 before any secret is sent, and the look-up fails with a sentence."""
    _demo(demo_mode)
    company = Company.objects.get(slug="cm1-vertical")
    AadSettings.objects.filter(company=company).update(tenant_id=REAL_TENANT, delta_link="")
    from aadsync.sync import sync_company_now

    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.FAILED and "tenant" in run.error.lower()
    discovery = requests.get(
        f"{demo_mode.env['AAD_AUTHORITY_HOST']}/{REAL_TENANT}/v2.0/.well-known/openid-configuration",
        verify=demo_mode.env["REQUESTS_CA_BUNDLE"], timeout=5)
    assert discovery.status_code == 400 and "AADSTS90002" in discovery.text


def test_the_demo_microsoft_keeps_its_ca_and_ports_across_restarts(tmp_path):
    first = demo_microsoft_process(tmp_path, users=5)
    try:
        ca = (tmp_path / "ca.pem").read_bytes()
        env = first.env
    finally:
        demo_microsoft_stop(first)
    assert not (tmp_path / "env").exists()  # gone with the process: never a stale address
    second = demo_microsoft_process(tmp_path, users=5)
    try:
        assert (tmp_path / "ca.pem").read_bytes() == ca
        assert second.env == env  # same ports when they are free, same CA file
        answer = requests.get(f"{env['AAD_AUTHORITY_HOST']}/{DEMO_TENANT_ID}/v2.0/.well-known/openid-configuration",
                              verify=env["REQUESTS_CA_BUNDLE"], timeout=5)
        assert answer.status_code == 200
    finally:
        demo_microsoft_stop(second)


def test_bin_run_help_prints_help_and_starts_nothing():
    result = subprocess.run([str(ROOT / "bin/run"), "--help"], capture_output=True, text=True, timeout=20,
                            env={**os.environ, "PATH": os.environ.get("PATH", "")})
    assert result.returncode == 0
    for text in ("--no-demo", "PORT", "CM_PASSWORD", "demo Microsoft", "Ctrl-C"):
        assert text in result.stdout
    bad = subprocess.run([str(ROOT / "bin/run"), "--nope"], capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2 and "bin/run --help" in bad.stderr



def test_demoseed_seeds_an_empty_database_once(settings):
    settings.DEMO_MODE = False
    out = StringIO()
    call_command("demoseed", stdout=out)
    company = Company.objects.get(slug="cm1-vertical")
    assert sorted(Person.objects.filter(company=company).values_list("login", flat=True)) == ["27728", "27729", "rich"]
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()
    call_command("demoseed", stdout=out)
    assert "nothing seeded" in out.getvalue() and Person.objects.count() == 3


def test_demo_shows_when_the_demo_secret_expires(demo_mode):
    _demo(demo_mode)
    row = AadSettings.objects.get(company__slug="cm1-vertical")
    assert row.secret_expires_at is not None and row.secret_expiry_source == "graph"
