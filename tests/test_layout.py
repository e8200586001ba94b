"""The page layouts: a skip link and one main landmark everywhere, Bootstrap's JavaScript only in the CM layout (its
menu button), no script at all on the sign-in pages, and a favicon (no 404 on any page)."""
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db
BUNDLE = "vendor/bootstrap/bootstrap.bundle.min.js"


def test_sign_in_pages_run_no_script_and_have_a_main_landmark_and_a_skip_link(client):
    for url in ("/login/", "/cu/login/", "/login/microsoft/"):
        html = client.get(url).content.decode()
        assert "<script" not in html, url
        assert '<main id="main"' in html and 'href="#main"' in html, url
        assert 'rel="icon"' in html


def test_the_cm_layout_loads_bootstrap_for_its_menu_button(manager_client):
    for url in ("/aad/", "/directory/", "/users/", "/my-information/", "/aad/history/"):
        html = manager_client.get(url).content.decode()
        assert html.count(BUNDLE) == 1, url
        assert 'data-bs-toggle="collapse"' in html and 'data-bs-target="#cm-sidebar"' in html
        assert html.count("<main") == 1 and 'href="#main"' in html


def test_the_customer_user_portal_runs_no_script(client, phone_user):
    client.force_login(phone_user)
    html = client.get("/cu/").content.decode()
    assert "<script" not in html and '<main id="main"' in html


def test_favicon_is_served(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith("img/favicon.ico")
    for name in ("favicon.ico", "favicon.svg"):
        assert (Path(settings.BASE_DIR) / "static" / "img" / name).stat().st_size > 100


def test_ms_aad_fields_have_one_label_each_and_no_asterisk_on_selects(manager_client):
    html = manager_client.get("/aad/?mode=edit").content.decode()
    for field in ("tenant_id", "client_id", "secret", "period", "include_guests"):
        assert html.count(f'for="id_{field}"') == 1, field
    assert "asteriskField" not in html  # selects always hold a value: no "required" mark on them
    assert html.count("when Use</span>") == 3  # Tenant ID, Client ID and Secret Code: required when Usage is Use
    assert html.count(">User Look-Up Usage<") == 1 and html.count(">User Look-Up Period<") == 1  # shown once
