"""National clouds (aadsync/microsoft/clouds.py): the cloud picks the hosts and the scopes together; the fake in a
national-cloud mode refuses global scopes, and issues tokens whose issuer names another host than the one reached."""
import subprocess
import sys
from pathlib import Path

import pytest

from aadsync.microsoft.clouds import CLOUDS
from aadsync.models import SyncRun
from tests.aadlogin.test_signin import _sign_in, signin_setup  # noqa: F401  (fixture)
from tests.aadsync.sync.test_engine import sync

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
CHINA_GRAPH = "https://microsoftgraph.chinacloudapi.cn"
CHINA_ISSUER = "https://login.partner.microsoftonline.cn"
PRINT_HOSTS = ("import django; django.setup(); from django.conf import settings as s; "
               "print(s.AAD_AUTHORITY_HOST, s.GRAPH_API_URL)")


def _hosts(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRINT_HOSTS], cwd=ROOT, capture_output=True, text=True, env={
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CMPORTAL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "cmportal.settings", **env})


@pytest.mark.parametrize("cloud, hosts", [
    ("global", "https://login.microsoftonline.com https://graph.microsoft.com/v1.0"),
    ("usgov", "https://login.microsoftonline.us https://graph.microsoft.us/v1.0"),
    ("dod", "https://login.microsoftonline.us https://dod-graph.microsoft.us/v1.0"),
    ("china", "https://login.chinacloudapi.cn https://microsoftgraph.chinacloudapi.cn/v1.0"),
])
def test_aad_cloud_picks_the_sign_in_and_graph_hosts(tmp_path, cloud, hosts):
    result = _hosts(tmp_path, AAD_CLOUD=cloud)
    assert result.stdout.strip() == hosts, result.stderr


def test_host_overrides_change_the_hosts_never_the_scopes(tmp_path, settings):
    result = _hosts(tmp_path, AAD_CLOUD="usgov", AAD_AUTHORITY_HOST="https://proxy.example",
                    GRAPH_API_URL="https://proxy.example/v1.0")
    assert result.stdout.strip() == "https://proxy.example https://proxy.example/v1.0"
    assert CLOUDS["usgov"].scope(".default") == "https://graph.microsoft.us/.default"


def test_an_unknown_cloud_refuses_to_start(tmp_path):
    result = _hosts(tmp_path, AAD_CLOUD="mars")
    assert result.returncode != 0 and "AAD_CLOUD must be one of global, usgov, dod, china" in result.stderr


def test_a_look_up_in_china_asks_for_china_s_graph_scope(fake_ms, company, settings):
    fake_ms.use_cloud(CHINA_GRAPH, issuer_host=CHINA_ISSUER)
    settings.AAD_CLOUD = "china"  # the hosts stay the fake's (AAD_AUTHORITY_HOST, GRAPH_API_URL): the scopes follow
    fake_ms.configure(company, users=12)

    run = sync(company)

    assert run.status == SyncRun.Status.SUCCEEDED and run.looked_up == 12


def test_a_global_scope_is_refused_by_a_national_cloud(fake_ms, company, settings):
    fake_ms.use_cloud("https://graph.microsoft.us")
    settings.AAD_CLOUD = "global"  # misconfigured: GCC High tenant, global scopes
    fake_ms.configure(company, users=3)

    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert "AADSTS1002012" in run.error  # Microsoft's invalid_scope for client credentials


@pytest.mark.parametrize("cloud, graph_host, issuer_host", [
    ("global", "https://graph.microsoft.com", "https://login.microsoftonline.com"),  # reached through an alias
    ("global", "https://graph.microsoft.com", "https://login.windows.net"),
    ("china", CHINA_GRAPH, CHINA_ISSUER),
])
def test_sign_in_trusts_the_issuer_the_tenant_s_discovery_names(fake_ms, client, settings, signin_setup, manager,
                                                                  cloud, graph_host, issuer_host):
    """The id_token's issuer is on another host than the one the portal reaches (the fake on 127.0.0.1)."""
    fake_ms.use_cloud(graph_host, issuer_host=issuer_host)
    settings.AAD_CLOUD = cloud

    response = _sign_in(fake_ms, client, signin_setup.manager_user)

    assert response.status_code == 302 and response.url == "/aad/", response.content.decode()[:400]
    assert int(client.session["_auth_user_id"]) == manager.pk


def test_sign_in_refuses_a_token_from_an_issuer_discovery_does_not_name(fake_ms, client, settings, signin_setup):
    fake_ms.use_cloud("https://graph.microsoft.com", issuer_host="https://login.microsoftonline.com")
    fake_ms.signin.claims = {"iss": f"https://login.windows.net/{signin_setup.tenant.tenant_id}/v2.0"}

    response = _sign_in(fake_ms, client, signin_setup.manager_user)

    assert "came from another tenant" in response.content.decode()
    assert "_auth_user_id" not in client.session
