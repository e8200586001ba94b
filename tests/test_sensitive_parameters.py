"""Every form that takes a password or the client secret marks it sensitive: error reports never show it."""
import pytest
from django.views.debug import SafeExceptionReporterFilter

from directory.models import Person
from tests.conftest import PASSWORD, SECRET

pytestmark = pytest.mark.django_db


def _hidden(response, *names) -> dict:
    request = response.wsgi_request
    shown = SafeExceptionReporterFilter().get_post_parameters(request)
    return {name: shown.get(name) for name in names}


def _all_hidden(response, *names) -> bool:
    return all(value == SafeExceptionReporterFilter.cleansed_substitute for value in _hidden(response, *names).values())


@pytest.mark.parametrize("url", ["/login/", "/cu/login/", "/admin/login/"])
def test_sign_in_forms(client, manager, url):
    assert _all_hidden(client.post(url, {"username": "rich@cm1-vertical", "password": PASSWORD}), "password")


def test_my_information(manager_client):
    response = manager_client.post("/my-information/", {"name": "rich", "email": "rich@vertical.com",
                                                        "current_password": PASSWORD, "password": "New-pass-12",
                                                        "password_confirm": "New-pass-12"})
    assert _all_hidden(response, "current_password", "password", "password_confirm")


@pytest.mark.parametrize("url", ["/users/new/", "users/edit"])
def test_user_create_and_edit(manager_client, phone_user, url):
    url = f"/users/{phone_user.pk}/edit/" if url == "users/edit" else url
    response = manager_client.post(url, {"password": "New-pass-12", "password_confirm": "New-pass-12"})
    assert _all_hidden(response, "password", "password_confirm")


def test_ms_aad_settings_page(manager_client):
    assert _all_hidden(manager_client.post("/aad/", {"secret": SECRET}), "secret")


def test_admin_ms_aad_settings(client, company):
    client.force_login(Person.objects.create_superuser("ops", password=PASSWORD))
    response = client.post("/admin/aadsync/aadsettings/add/", {"company": company.pk, "secret": SECRET})
    assert _all_hidden(response, "secret")


def test_admin_person_add(client, company):
    client.force_login(Person.objects.create_superuser("ops", password=PASSWORD))
    response = client.post("/admin/directory/person/add/", {"password1": "New-pass-12", "password2": "New-pass-12"})
    assert _all_hidden(response, "password1", "password2")
